import CAutoPruneKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The instruction set the vector kernels (GEMM, direct convolution, weight gradients) run on.
///
/// Each kernel is compiled once per instruction set in the C target `CAutoPruneKernels` and the
/// best one the CPU and the operating system support is used, so one binary is fast on every
/// machine whatever flags it was built with. Tests and `autoprune bench` select the others to
/// compare them; `AUTOPRUNE_KERNELS=avx512|avx2|baseline` does the same for a whole run.
///
/// ```swift
/// print(InstructionSet.active)        // avx512 on a Zen 4 or a Sapphire Rapids
/// ```
public enum InstructionSet: Int32, Sendable, CaseIterable, CustomStringConvertible {
  /// The build's baseline: SSE2 on x86-64, NEON on arm64 (4-float vectors).
  case baseline = 0
  /// AVX2 with FMA (8-float vectors, 16 registers).
  case avx2 = 1
  /// AVX-512 F/VL/BW/DQ with FMA (16-float vectors, 32 registers).
  case avx512 = 2

  /// The widest instruction set this machine runs.
  public static var best: InstructionSet { InstructionSet(rawValue: ap_isa_best()) ?? .baseline }

  /// Instruction sets this machine runs, narrowest first.
  public static var supported: [InstructionSet] { allCases.filter(\.isSupported) }

  /// Whether this machine runs `self`.
  public var isSupported: Bool { ap_isa_supported(rawValue) != 0 }

  /// The instruction set in use; setting one the machine lacks is a programming error, so check
  /// `isSupported` first (`select(named:)` does, for user input).
  public static var active: InstructionSet {
    get { InstructionSet(rawValue: ap_isa_selected()) ?? .baseline }
    set { precondition(ap_isa_select(newValue.rawValue) != 0, "\(newValue) kernels are not supported on this CPU") }
  }

  /// The name `select(named:)` and `AUTOPRUNE_KERNELS` accept and `autoprune info` prints:
  /// `avx512`, `avx2`, or `baseline` (`neon` on arm64).
  public var description: String { String(cString: ap_isa_name(rawValue)) }

  /// Selects the instruction set called `name` (as `description` prints it, `baseline` also on
  /// arm64 where it prints `neon`, or `best`; any case, spaces ignored). Throws a message naming
  /// what this machine supports when it is unknown or unsupported.
  public static func select(named raw: String) throws(InstructionSetError) {
    let name = raw.trimmingSpaces().lowercased()
    if name == "best" {
      active = best
      return
    }
    guard let chosen = allCases.first(where: { $0.description == name || ($0 == .baseline && name == "baseline") }) else {
      throw InstructionSetError(message: "unknown kernel set '\(name)' (choose from best, \(supported.map(\.description).joined(separator: ", ")))")
    }
    guard chosen.isSupported else {
      throw InstructionSetError(message: "\(name) kernels do not run on this CPU (it runs \(supported.map(\.description).joined(separator: ", ")))")
    }
    active = chosen
  }

  /// Runs `body` once with each instruction set this machine supports active, then restores
  /// the one in use: how tests check every variant that can run here against a reference, and
  /// how `bench` compares them. Not for use while other threads run kernels.
  public static func forEachSupported(_ body: (InstructionSet) throws -> Void) rethrows {
    let saved = active
    defer { active = saved }
    for set in supported {
      active = set
      try body(set)
    }
  }

  /// Applies `AUTOPRUNE_KERNELS` when set and not empty.
  package static func applyEnvironment() throws(InstructionSetError) {
    guard let raw = getenv("AUTOPRUNE_KERNELS"), raw.pointee != 0 else { return }
    do {
      try select(named: String(cString: raw))
    } catch {
      throw InstructionSetError(message: "AUTOPRUNE_KERNELS: \(error.message)")
    }
  }
}

extension String {
  /// Without leading and trailing spaces and tabs (environment values typed by hand).
  func trimmingSpaces() -> String {
    String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
  }
}

/// A kernel set named by the user that does not exist or does not run here.
public struct InstructionSetError: Error, CustomStringConvertible {
  /// What was asked for and which sets this machine runs, ready to show the user.
  public let message: String
  public var description: String { message }
}
