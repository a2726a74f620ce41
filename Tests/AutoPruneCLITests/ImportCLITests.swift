import Foundation
import XCTest

/// `autoprune import` end to end: an ONNX graph becomes a weights file that `train`, `prune`,
/// `eval` and `export` take with no `--model`; bad files and flags are refused in one line.
final class ImportCLITests: XCTestCase {
  var scratch: URL!

  override func setUpWithError() throws {
    scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cli-import-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
  }

  override func tearDown() { if let scratch { try? FileManager.default.removeItem(at: scratch) } }

  private func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

  @discardableResult
  private func succeed(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CLI.Result {
    let r = try CLI.run(arguments, in: scratch)
    XCTAssertEqual(r.status, 0, "autoprune \(arguments.joined(separator: " ")): \(r.stderr)", file: file, line: line)
    return r
  }

  /// LeNet-5 trained and exported, imported with a stated preprocessing, then fine-tuned,
  /// pruned to a sparsity budget, evaluated and exported thinned, never naming the model.
  func testAnImportedModelTrainsPrunesAndExportsWithoutAModelName() throws {
    let quiet = ["--data", "bundled", "--no-run-dir", "--quiet"]
    try succeed(["train", "--model", "lenet5", "--epochs", "1", "--out", path("lenet5.safetensors")] + quiet)
    try succeed(["export", "--weights", path("lenet5.safetensors"), "--out", path("lenet5.onnx")])
    let imported = try succeed(["import", path("lenet5.onnx"), "--out", path("mine.safetensors"), "--name", "mine", "--input-scale", "255",
                                "--mean", "73", "--std", "90"])
    XCTAssertTrue(imported.stdout.contains("mine, 10 layers, 431080 parameters, 1×28×28 images, 10 classes"), imported.stdout)
    try succeed(["train", "--weights", path("mine.safetensors"), "--epochs", "1", "--out", path("tuned.safetensors")] + quiet)
    let pruned = try succeed(["prune", "--weights", path("tuned.safetensors"), "--target-sparsity", "0.9", "--prune-epochs", "2",
                              "--finetune-epochs", "1", "--json", "--out", path("pruned.safetensors")] + quiet)
    let summary = try pruned.lastJSON()
    XCTAssertEqual(summary["model"] as? String, "mine")
    XCTAssertGreaterThan(try XCTUnwrap(summary["compression"] as? Double), 5)
    let eval = try succeed(["eval", "--weights", path("pruned.safetensors"), "--data", "bundled", "--json"])
    XCTAssertEqual(try eval.lastJSON()["model"] as? String, "mine")
    try succeed(["export", "--weights", path("pruned.safetensors"), "--thin", "--out", path("thin.onnx")])
    let thin = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path("thin.onnx"))[.size] as? Int)
    let dense = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path("lenet5.onnx"))[.size] as? Int)
    XCTAssertLessThan(thin, dense)
  }

  func testBadFilesAndFlagsAreRefusedInOneLine() throws {
    try Data("not protobuf at all".utf8).write(to: URL(fileURLWithPath: path("junk.onnx")))
    for (arguments, words) in [
      (["import", path("junk.onnx"), "--out", path("x.safetensors")], ["junk.onnx", "not an ONNX model"]),
      (["import", path("missing.onnx"), "--out", path("x.safetensors")], ["missing.onnx"]),
      (["import", path("junk.onnx"), "--out", path("x.safetensors"), "--std", "0"], ["--std"]),
      (["import", path("junk.onnx"), "--out", path("x.safetensors"), "--input-shape", "1,28"], ["--input-shape"]),
      (["prune", "--data", "bundled", "--pretrain-epochs", "1", "--out", path("x.safetensors")], ["--model", "--weights"]),
      (["train", "--weights", path("junk.onnx"), "--data", "bundled", "--out", path("x.safetensors")], ["junk.onnx"]),
    ] {
      let r = try CLI.run(arguments, in: scratch)
      XCTAssertNotEqual(r.status, 0, arguments.joined(separator: " "))
      let message = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
      for word in words { XCTAssertTrue(message.contains(word), "\(arguments.joined(separator: " ")): \(r.stderr)") }
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.safetensors")))
  }
}
