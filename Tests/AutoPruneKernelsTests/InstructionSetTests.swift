import Foundation
import XCTest

import AutoPruneKernels

final class InstructionSetTests: XCTestCase {
  /// What CPUID chose agrees with the flags Linux reports (which also reflect OS support); other
  /// architectures have the baseline alone.
  func testBestSetMatchesTheFlagsInProcCPUInfo() throws {
    #if arch(x86_64) && os(Linux)
      let text = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
      let flagsLine = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("flags") })
      let flags = Set(flagsLine.split(separator: ":")[1].split(separator: " ").map(String.init))
      let expected: InstructionSet =
        flags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl", "fma"]) ? .avx512
        : flags.isSuperset(of: ["avx2", "fma"]) ? .avx2 : .baseline
      XCTAssertEqual(InstructionSet.best, expected)
    #elseif arch(x86_64)
      // No /proc/cpuinfo to compare with: the choice must at least run here.
      XCTAssertTrue(InstructionSet.best.isSupported)
    #else
      XCTAssertEqual(InstructionSet.best, .baseline, "only x86-64 has wider kernel sets")
    #endif
  }

  func testSupportedSetsStartAtTheBaselineAndEndAtTheBest() {
    XCTAssertEqual(InstructionSet.supported.first, .baseline)
    XCTAssertEqual(InstructionSet.supported.last, InstructionSet.best)
  }

  func testSelectingByNameSwitchesAndRefusesUnknownNames() throws {
    let saved = InstructionSet.active
    defer { InstructionSet.active = saved }
    try InstructionSet.select(named: "baseline")
    XCTAssertEqual(InstructionSet.active, .baseline)
    try InstructionSet.select(named: "best")
    XCTAssertEqual(InstructionSet.active, InstructionSet.best)
    XCTAssertThrowsError(try InstructionSet.select(named: "sse9")) { error in
      XCTAssertTrue("\(error)".contains("unknown kernel set 'sse9'"), "\(error)")
    }
    if !InstructionSet.avx512.isSupported {
      XCTAssertThrowsError(try InstructionSet.select(named: "avx512")) { error in
        XCTAssertTrue("\(error)".contains("do not run on this CPU"), "\(error)")
      }
    }
  }

  /// OpenBLAS's fallback kernels are refused on a CPU with AVX2 or AVX-512, its vector ones kept.
  func testOpenBLASFallbackCoresAreRecognised() {
    XCTAssertTrue(GEMM.isFallbackBLASCore("Prescott", on: .avx512))
    XCTAssertTrue(GEMM.isFallbackBLASCore("Nehalem", on: .avx2))
    XCTAssertFalse(GEMM.isFallbackBLASCore("SkylakeX", on: .avx512))
    XCTAssertFalse(GEMM.isFallbackBLASCore("Haswell", on: .avx2))
    XCTAssertFalse(GEMM.isFallbackBLASCore("Prescott", on: .baseline), "a CPU without AVX2 has nothing faster")
  }
}
