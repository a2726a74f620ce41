import Foundation
import XCTest

/// Runs the built `autoprune` executable as a user would and checks exit codes, stderr and
/// output files.
final class CLITests: XCTestCase {
  var scratch: URL!

  override func setUpWithError() throws {
    scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
  }

  override func tearDown() { try? FileManager.default.removeItem(at: scratch) }

  static var executable: URL { CLI.executable }

  func autoprune(_ arguments: [String]) throws -> CLI.Result { try CLI.run(arguments, in: scratch) }

  func assertFails(_ arguments: [String], mentioning fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
    try CLI.assertFails(arguments, in: scratch, mentioning: fragments, file: file, line: line)
  }

  private func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

  /// A tiny valid MNIST-format directory (6 train / 3 test images of 28×28).
  private func writeData(_ dir: String, trainLabels: [UInt8] = [0, 1, 2, 3, 4, 9], trainImages: [UInt8]? = nil) throws {
    try CLI.writeMNIST(dir, trainLabels: trainLabels, trainImages: trainImages)
  }

  func testTrainWritesWeightsAndEndsWithJSON() throws {
    try writeData(path("data"))
    let r = try autoprune(["train", "--model", "lenet300", "--data", path("data"), "--epochs", "1", "--out", path("w.safetensors"), "--json"])
    XCTAssertEqual(r.status, 0, r.stderr)
    let json = try r.lastJSON()
    XCTAssertEqual(json["parameters"] as? Int, 266_610)
    XCTAssertNotNil(json["test_accuracy"] as? Double)
    XCTAssertNotNil(json["epoch_seconds"] as? Double)
    XCTAssertTrue(FileManager.default.fileExists(atPath: path("w.safetensors")))

    let e = try autoprune(["eval", "--weights", path("w.safetensors"), "--data", path("data"), "--json"])
    XCTAssertEqual(e.status, 0, e.stderr)
    XCTAssertTrue(e.stdout.split(separator: "\n").last!.contains("\"test_accuracy\""))
  }

  func testMissingDataDirectory() throws {
    try assertFails(["train", "--model", "lenet300", "--data", path("nope"), "--out", path("w.safetensors")], mentioning: [path("nope"), "not found"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("w.safetensors")))
  }

  func testBadIDXFilesNameTheFileAndWriteNothing() throws {
    let cases: [(String, () throws -> Void, String)] = [
      ("magic", { try self.writeData(self.path("magic"), trainImages: [9, 9, 9, 9, 0, 0, 0, 0]) }, "not an IDX file"),
      ("length", { try self.writeData(self.path("length"), trainImages: [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2]) }, "data bytes"),
      ("counts", { try self.writeData(self.path("counts"), trainLabels: [1, 2]) }, "labels"),
      ("label", { try self.writeData(self.path("label"), trainLabels: [0, 1, 2, 3, 4, 12]) }, "label 12"),
    ]
    for (dir, make, fragment) in cases {
      try make()
      try assertFails(["train", "--model", "lenet300", "--data", path(dir), "--epochs", "1", "--out", path("\(dir).safetensors")], mentioning: [path(dir), fragment])
      XCTAssertFalse(FileManager.default.fileExists(atPath: path("\(dir).safetensors")), dir)
    }
  }

  func testTruncatedGzip() throws {
    try writeData(path("gz"))
    let file = path("gz") + "/train-images-idx3-ubyte"
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", "gzip '\(file)' && head -c 300 '\(file).gz' > '\(file).cut' && mv '\(file).cut' '\(file).gz'"]
    try p.run()
    p.waitUntilExit()
    try assertFails(["train", "--model", "lenet300", "--data", path("gz"), "--out", path("w.safetensors")], mentioning: [file + ".gz", "truncated"])
  }

  func testBadArguments() throws {
    try assertFails(["train", "--model", "resnet9000", "--out", path("w")], mentioning: ["resnet9000", "--model"])
    try assertFails(["train", "--model", "lenet5", "--epochs", "0", "--out", path("w")], mentioning: ["--epochs"])
    try assertFails(["train", "--model", "lenet5", "--lr", "-0.1", "--out", path("w")], mentioning: ["--lr"])
  }

  func testWeightsForWrongModelAndCorruptHeader() throws {
    try writeData(path("data"))
    XCTAssertEqual(try autoprune(["train", "--model", "lenet300", "--data", path("data"), "--epochs", "1", "--out", path("l300.safetensors")]).status, 0)
    try assertFails(["eval", "--model", "lenet5", "--weights", path("l300.safetensors"), "--data", path("data")], mentioning: [path("l300.safetensors"), "lenet300"])
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path("l300.safetensors"))))
    bytes[5] = 0x7f  // header length now far beyond the file
    try Data(bytes).write(to: URL(fileURLWithPath: path("corrupt.safetensors")))
    try assertFails(["eval", "--model", "lenet300", "--weights", path("corrupt.safetensors"), "--data", path("data")], mentioning: [path("corrupt.safetensors"), "header"])
  }

  /// Piped (as here) train prints one plain line per epoch, never the live line's carriage
  /// returns; --quiet only the result; the run directory defaults to runs/NAME.
  func testProgressLinesQuietAndDefaultRunDirectory() throws {
    try writeData(path("data"))
    let r = try autoprune(["train", "--model", "lenet300", "--data", path("data"), "--epochs", "2", "--out", path("w.safetensors")])
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertFalse(r.stdout.contains("\r") || r.stdout.contains("\u{1B}"), "no terminal control codes on a pipe")
    let epochLines = r.stdout.split(separator: "\n").filter { $0.hasPrefix("dense ") }
    XCTAssertEqual(epochLines.count, 2, r.stdout)
    XCTAssertTrue(epochLines[1].hasPrefix("dense  2/2"), r.stdout)
    XCTAssertEqual(try String(contentsOfFile: path("runs/w/log.jsonl"), encoding: .utf8).split(separator: "\n").count, 2)
    XCTAssertTrue(FileManager.default.fileExists(atPath: path("runs/w/summary.json")))
    XCTAssertTrue(r.stdout.contains("(run log in \(path("runs/w")))"), r.stdout)

    let q = try autoprune(["train", "--model", "lenet300", "--data", path("data"), "--epochs", "2", "--out", path("q.safetensors"), "--quiet", "--no-run-dir"])
    XCTAssertEqual(q.status, 0, q.stderr)
    XCTAssertEqual(q.stdout.split(separator: "\n").count, 1, "only the result line: \(q.stdout)")
    XCTAssertTrue(q.stdout.hasPrefix("saved "), q.stdout)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("runs/q")), "--no-run-dir writes no run directory")
    try assertFails(["train", "--model", "lenet300", "--data", path("data"), "--out", path("x.safetensors"), "--run-dir", path("r"), "--no-run-dir"],
                    mentioning: ["--run-dir", "--no-run-dir"])
  }

  func testReportCommandWritesOnePageAndNamesBadPaths() throws {
    try writeData(path("data"))
    for name in ["a", "b"] {
      let r = try autoprune(["prune", "--model", "lenet300", "--data", path("data"), "--pretrain-epochs", "1", "--prune-epochs", "1",
                             "--finetune-epochs", "1", "--mu", "1e-3", "--run-dir", path("runs/\(name)"), "--out", path("\(name).safetensors")])
      XCTAssertEqual(r.status, 0, r.stderr)
    }
    let r = try autoprune(["report", path("runs"), "--html", path("report.html"), "--title", "Two <runs>"])
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertTrue(r.stdout.contains("2 runs"), r.stdout)
    let html = try String(contentsOfFile: path("report.html"), encoding: .utf8)
    XCTAssertTrue(html.contains("<title>Two &lt;runs&gt;</title>"))
    XCTAssertTrue(html.contains("Input pixels fc1 still reads"), "LeNet-300 runs get the heat-map")
    try assertFails(["report", path("nothing"), "--html", path("r.html")], mentioning: [path("nothing"), "not a directory"])
    try assertFails(["report", path("data"), "--html", path("r.html")], mentioning: [path("data"), "no runs found"])
    try assertFails(["report", path("runs"), "--html", path("no/dir/r.html")], mentioning: ["--out", "does not exist"])
  }

  func testDemoEndsWithItsReport() throws {
    let r = try autoprune(["demo", "--epochs", "1", "--prune-epochs", "2", "--finetune-epochs", "0", "--mu", "2e-3", "--out", path("demo"), "--quiet"])
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertTrue(r.stdout.contains("report: \(path("demo/report.html"))"), r.stdout)
    let html = try String(contentsOfFile: path("demo/report.html"), encoding: .utf8)
    for run in ["lenet300-dense", "lenet300-autoprune", "lenet5-dense", "lenet5-autoprune"] {
      XCTAssertTrue(html.contains("id=\"run-\(run)\""), "report lacks \(run)")
    }
  }

  /// The CIFAR networks train on padded images, save their BatchNorm running averages and
  /// evaluate from the file alone; filter-pruned, they thin to the same accuracy; wrong image
  /// sizes and unsupported steps are refused clearly.
  func testResNetTrainsOnPaddedImagesAndEvaluatesFromItsFile() throws {
    try writeData(path("data"))
    try assertFails(["train", "--model", "resnet20", "--data", path("data"), "--epochs", "1", "--out", path("r.safetensors")],
                    mentioning: ["resnet20 takes 1×32×32 images", "1×28×28", "--resize 32"])
    let r = try autoprune(["train", "--model", "resnet20", "--data", path("data"), "--resize", "32", "--augment", "--epochs", "1",
                           "--out", path("r.safetensors"), "--json", "--quiet"])
    XCTAssertEqual(r.status, 0, r.stderr)
    let trained = try r.lastJSON()
    let e = try autoprune(["eval", "--weights", path("r.safetensors"), "--data", path("data"), "--resize", "32", "--json"])
    XCTAssertEqual(e.status, 0, e.stderr)
    let evaluated = try e.lastJSON()
    XCTAssertEqual(evaluated["test_accuracy"] as? Double, trained["test_accuracy"] as? Double, "same running averages after reload")
    XCTAssertEqual(evaluated["parameters"] as? Int, 272_186)
    try assertFails(["eval", "--weights", path("r.safetensors"), "--data", path("data")], mentioning: ["resnet20 takes 1×32×32", "--resize 32"])
    // Filter pruning across residual additions, then the thinned network: same accuracy.
    let rp = try autoprune(["prune", "--weights", path("r.safetensors"), "--model", "resnet20", "--data", path("data"), "--resize", "32",
                            "--prune-epochs", "2", "--granularity", "unit", "--unit-data-term", "filter", "--mu", "0.02", "--eta-m", "1", "--out", path("rp.safetensors"),
                            "--json", "--quiet"])
    XCTAssertEqual(rp.status, 0, rp.stderr)
    let resnetPruned = try rp.lastJSON()
    XCTAssertLessThan(try XCTUnwrap(resnetPruned["flops_fraction"] as? Double), 1)
    let rt = try autoprune(["eval", "--weights", path("rp.safetensors"), "--data", path("data"), "--resize", "32", "--thin", "--json"])
    XCTAssertEqual(rt.status, 0, rt.stderr)
    XCTAssertEqual(try rt.lastJSON()["test_accuracy"] as? Double, resnetPruned["test_accuracy"] as? Double, "thinned ResNet = masked")
    XCTAssertLessThan(try XCTUnwrap(try rt.lastJSON()["stored_weights"] as? Int), 270_608)
    try assertFails(["eval", "--weights", path("rp.safetensors"), "--data", path("data"), "--resize", "32", "--sparse"],
                    mentioning: ["--sparse", "resnet20", "--thin"])
    let rx = try autoprune(["export", "--weights", path("rp.safetensors"), "--onnx", path("rp.onnx"), "--thin"])
    XCTAssertEqual(rx.status, 0, rx.stderr)
    // VGG-like is a plain chain: filter pruning, then the thinned network, work end to end.
    let p = try autoprune(["prune", "--model", "vgg-like", "--width", "0.125", "--data", path("data"), "--resize", "32", "--pretrain-epochs", "1",
                           "--prune-epochs", "2", "--granularity", "unit", "--mu", "0.05", "--eta-m", "1", "--out", path("v.safetensors"), "--json", "--quiet"])
    XCTAssertEqual(p.status, 0, p.stderr)
    let pruned = try p.lastJSON()
    let t = try autoprune(["eval", "--weights", path("v.safetensors"), "--data", path("data"), "--resize", "32", "--thin", "--json"])
    XCTAssertEqual(t.status, 0, t.stderr)
    let thinned = try t.lastJSON()
    XCTAssertEqual(thinned["test_accuracy"] as? Double, pruned["test_accuracy"] as? Double, "thinned = masked")
    let x = try autoprune(["export", "--weights", path("r.safetensors"), "--onnx", path("r.onnx")])
    XCTAssertEqual(x.status, 0, x.stderr)
  }

  func testExportWritesONNXAndRefusesBadInput() throws {
    try writeData(path("data"))
    XCTAssertEqual(try autoprune(["train", "--model", "lenet300", "--data", path("data"), "--epochs", "1", "--out", path("l300.safetensors")]).status, 0)
    for thin in [false, true] {
      let out = path(thin ? "thin.onnx" : "model.onnx")
      let r = try autoprune(["export", "--weights", path("l300.safetensors"), "--onnx", out] + (thin ? ["--thin"] : []))
      XCTAssertEqual(r.status, 0, r.stderr)
      XCTAssertTrue(r.stdout.contains("opset 13"), r.stdout)
      // An ONNX ModelProto starts with field 1 (ir_version, varint): tag byte 0x08.
      XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)).first, 0x08)
    }
    try assertFails(["export", "--weights", path("missing.safetensors"), "--onnx", path("m.onnx")], mentioning: [path("missing.safetensors")])
    try assertFails(["export", "--weights", path("l300.safetensors"), "--onnx", path("no/such/dir/m.onnx")], mentioning: ["--out", "does not exist"])
    try assertFails(["export", "--model", "lenet5", "--weights", path("l300.safetensors"), "--onnx", path("m.onnx")], mentioning: ["lenet300"])
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path("l300.safetensors"))))
    bytes.removeLast(bytes.count / 2)  // tensors cut off
    try Data(bytes).write(to: URL(fileURLWithPath: path("cut.safetensors")))
    try assertFails(["export", "--weights", path("cut.safetensors"), "--onnx", path("m.onnx")], mentioning: [path("cut.safetensors")])
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("m.onnx")), "a failed export leaves no file")
  }

  func testPruneWritesMasksAndEvalReportsTheSameAccounting() throws {
    try writeData(path("data"))
    let r = try autoprune([
      "prune", "--model", "lenet300", "--data", path("data"), "--pretrain-epochs", "1", "--prune-epochs", "2",
      "--finetune-epochs", "1", "--granularity", "unit", "--mu", "0.5", "--eta-m", "1", "--out", path("p.safetensors"), "--json",
    ])
    XCTAssertEqual(r.status, 0, r.stderr)
    let json = try r.lastJSON()
    for key in ["test_accuracy", "dense_test_accuracy", "compression", "flops_fraction", "per_layer", "architecture"] {
      XCTAssertNotNil(json[key], key)
    }
    let architecture = try XCTUnwrap(json["architecture"] as? String)
    XCTAssertTrue(architecture.hasSuffix("-10"), architecture)
    let e = try autoprune(["eval", "--weights", path("p.safetensors"), "--data", path("data"), "--json"])
    XCTAssertEqual(e.status, 0, e.stderr)
    let evalJSON = try e.lastJSON()
    XCTAssertEqual(evalJSON["architecture"] as? String, architecture)
    XCTAssertEqual(evalJSON["kept_weights"] as? Int, json["kept_weights"] as? Int)
    XCTAssertEqual(evalJSON["test_accuracy"] as? Double, json["test_accuracy"] as? Double)
  }

  func testPruningIsReproducibleAndLayerGatesWork() throws {
    try writeData(path("data"))
    for run in ["a", "b"] {
      let r = try autoprune([
        "prune", "--model", "lenet300", "--data", path("data"), "--pretrain-epochs", "1", "--prune-epochs", "2",
        "--layer-gates", "fc1=input+element,fc2=output", "--mu", "0.3", "--out", path("\(run).safetensors"),
      ])
      XCTAssertEqual(r.status, 0, r.stderr)
    }
    let a = try Data(contentsOf: URL(fileURLWithPath: path("a.safetensors")))
    let b = try Data(contentsOf: URL(fileURLWithPath: path("b.safetensors")))
    XCTAssertEqual(a, b, "same seed and threads must give the same pruned file")
    try assertFails(
      ["prune", "--model", "lenet300", "--data", path("data"), "--pretrain-epochs", "0", "--layer-gates", "conv9=output", "--out", path("c")],
      mentioning: ["conv9"])
    try assertFails(["prune", "--model", "lenet300", "--pretrain-epochs", "0", "--layer-gates", "fc1=rows", "--out", path("c")], mentioning: ["rows"])
  }

  func testBaselineMethodsReachTheirTargetSparsity() throws {
    try writeData(path("data"))
    for method in ["magnitude", "magnitude-layerwise", "iterative", "gradual", "random", "targeted-dropout"] {
      let r = try autoprune([
        "prune", "--model", "lenet300", "--data", path("data"), "--pretrain-epochs", "1", "--method", method, "--sparsity", "0.9",
        "--prune-epochs", "2", "--out", path("\(method).safetensors"), "--json",
      ])
      XCTAssertEqual(r.status, 0, r.stderr)
      let json = try r.lastJSON()
      // 90% of the masks: 10×, or a little more where units were left with no outgoing weight
      // (they reach nothing, so their incoming weights count as pruned too).
      let compression = json["compression"] as? Double ?? 0
      XCTAssertTrue((9.7...11).contains(compression), "\(method): \(compression)")
    }
    try assertFails(["prune", "--model", "lenet300", "--pretrain-epochs", "1", "--method", "gradual", "--out", path("g")], mentioning: ["--sparsity"])
    // Scratch training keeps exactly the masks of the model it is given.
    let s = try autoprune([
      "prune", "--model", "lenet300", "--data", path("data"), "--pretrain-epochs", "0", "--method", "scratch",
      "--masks-from", path("magnitude.safetensors"), "--prune-epochs", "1", "--out", path("scratch.safetensors"), "--json",
    ])
    XCTAssertEqual(s.status, 0, s.stderr)
    let scratch = try s.lastJSON()
    let e = try autoprune(["eval", "--weights", path("magnitude.safetensors"), "--data", path("data"), "--json"])
    let original = try e.lastJSON()
    XCTAssertEqual(scratch["kept_weights"] as? Int, original["kept_weights"] as? Int)
    XCTAssertNil(scratch["dense_test_accuracy"] as? Double, "scratch training has no dense model")
    XCTAssertNotNil(scratch["initial_test_accuracy"] as? Double)
    try assertFails(["prune", "--model", "lenet300", "--pretrain-epochs", "0", "--method", "scratch", "--out", path("x")], mentioning: ["--masks"])
  }

  func testRunDirectoryHoldsOneLogLinePerEpochAndASummary() throws {
    try writeData(path("data"))
    let r = try autoprune([
      "prune", "--model", "lenet300", "--data", path("data"), "--pretrain-epochs", "2", "--prune-epochs", "3",
      "--finetune-epochs", "1", "--run-dir", path("runs/one"), "--out", path("p.safetensors"),
    ])
    XCTAssertEqual(r.status, 0, r.stderr)
    let lines = try String(contentsOfFile: path("runs/one/log.jsonl"), encoding: .utf8).split(separator: "\n")
    let records = try lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    XCTAssertEqual(records.map { $0["phase"] as? String }, ["dense", "dense", "prune", "prune", "prune", "finetune"])
    XCTAssertEqual(records.map { $0["step"] as? Int }, [1, 2, 3, 4, 5, 6])
    XCTAssertNotNil(records[2]["kept_fraction"] as? Double)
    XCTAssertNotNil(records[2]["per_layer_kept"] as? [String: Any])
    XCTAssertNil(records[0]["kept_fraction"])
    let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("runs/one/summary.json")))) as? [String: Any])
    XCTAssertNotNil(summary["compression"] as? Double)
    XCTAssertEqual(summary["method"] as? String, "autoprune")
    let t = try autoprune(["table", path("runs"), "--format", "md"])
    XCTAssertEqual(t.status, 0, t.stderr)
    XCTAssertTrue(t.stdout.contains("| experiment | runs | compression"), t.stdout)
    // Shown relative to the directory the command ran in (the scratch directory).
    XCTAssertTrue(t.stdout.contains("| runs/one | 1 |"), t.stdout)
    try assertFails(["table", path("nothing-here")], mentioning: [path("nothing-here")])
  }

  func testRecipeRunsEverySeedIntoItsOwnDirectory() throws {
    try writeData(path("data"))
    try """
      name: tiny
      seeds: [3, 4]
      args:
        model: lenet300
        data: \(path("data"))
        pretrain-epochs: 1
        prune-epochs: 1
        correlation-consistency: true
      """.write(toFile: path("tiny.yaml"), atomically: true, encoding: .utf8)
    let r = try autoprune(["run", path("tiny.yaml"), "--out", path("runs/tiny")])
    XCTAssertEqual(r.status, 0, r.stderr)
    for seed in [3, 4] {
      for file in ["log.jsonl", "summary.json", "model.safetensors"] {
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("runs/tiny/seed-\(seed)/\(file)")), "seed \(seed) \(file)")
      }
    }
    XCTAssertTrue(FileManager.default.fileExists(atPath: path("runs/tiny/recipe.yaml")))
    let t = try autoprune(["table", path("runs/tiny"), "--format", "csv"])
    XCTAssertEqual(t.status, 0, t.stderr)
    XCTAssertTrue(t.stdout.split(separator: "\n")[1].hasPrefix("runs/tiny,2,"), t.stdout)

    // --skip-done: a finished seed is not run again, a missing one is.
    try FileManager.default.removeItem(atPath: path("runs/tiny/seed-4"))
    let model3 = try Data(contentsOf: URL(fileURLWithPath: path("runs/tiny/seed-3/model.safetensors")))
    let again = try autoprune(["run", path("tiny.yaml"), "--out", path("runs/tiny"), "--skip-done"])
    XCTAssertEqual(again.status, 0, again.stderr)
    XCTAssertTrue(again.stdout.contains("tiny, seed 3: done already"), again.stdout)
    XCTAssertTrue(FileManager.default.fileExists(atPath: path("runs/tiny/seed-4/summary.json")))
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("runs/tiny/seed-3/model.safetensors"))), model3)
  }

  /// Every recipe the repository ships must stay valid for the current command line.
  func testEveryShippedRecipeParses() throws {
    let recipes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("recipes")
    let files = try FileManager.default.contentsOfDirectory(atPath: recipes.path).filter { $0.hasSuffix(".yaml") }
    XCTAssertGreaterThan(files.count, 10)
    for file in files {
      let r = try autoprune(["run", recipes.appendingPathComponent(file).path, "--dry-run", "--seeds", "1"])
      XCTAssertEqual(r.status, 0, "\(file): \(r.stderr)")
      XCTAssertTrue(r.stdout.hasPrefix("autoprune "), file)
    }
    // A dry run names the line of a bad option too.
    try "name: x\nargs:\n  model: lenet300\n  pretrain-epochs: 0\n  ste: relu6\n".write(toFile: path("dry.yaml"), atomically: true, encoding: .utf8)
    try assertFails(["run", path("dry.yaml"), "--dry-run"], mentioning: ["dry.yaml:5", "args.ste"])
  }

  func testRecipeErrorsNameTheLineAndKey() throws {
    let cases: [(String, [String])] = [
      ("name: x\nargs:\n  model: lenet300\n  mu: -3\n  pretrain-epochs: 0\n", ["bad.yaml:4", "args.mu"]),
      ("name: x\nargs:\n  model: lenet300\n  pretrain-epochs: 0\n  frobnicate: 2\n", ["bad.yaml:5", "args.frobnicate"]),
      ("name: x\nseeds: zero\n", ["bad.yaml:2", "seeds"]),
      ("name: x\nwhatever: 1\n", ["bad.yaml:2", "whatever"]),
      ("args: {model: lenet300}\n", ["bad.yaml", "name", "missing"]),
      ("name: [unclosed\n", ["bad.yaml", "YAML"]),
      ("name: x\nargs:\n  out: somewhere\n", ["bad.yaml:3", "args.out"]),
    ]
    for (text, fragments) in cases {
      try text.write(toFile: path("bad.yaml"), atomically: true, encoding: .utf8)
      try assertFails(["run", path("bad.yaml"), "--out", path("runs/bad")], mentioning: fragments)
    }
  }

  func testPruneArgumentErrors() throws {
    try assertFails(["prune", "--model", "lenet300", "--out", path("p")], mentioning: ["--weights", "--pretrain-epochs"])
    try assertFails(["prune", "--model", "lenet300", "--pretrain-epochs", "1", "--ste", "relu6", "--out", path("p")], mentioning: ["--ste"])
    try assertFails(["prune", "--model", "lenet300", "--pretrain-epochs", "1", "--eta-m", "-1", "--out", path("p")], mentioning: ["--mask-lr"])
    try assertFails(["prune", "--model", "lenet300", "--from", path("missing.safetensors"), "--out", path("p")], mentioning: [path("missing.safetensors")])
    try assertFails(["prune", "--model", "lenet300", "--pretrain-epochs", "1", "--freeze-at-target", "--out", path("p")],
                    mentioning: ["--freeze-at-target", "--target-sparsity"])
    // The phase clock derives η_M and needs μ > 0; one target at a time.
    try assertFails(["prune", "--model", "lenet300", "--pretrain-epochs", "1", "--gate-clock", "phase", "--eta-m", "10", "--out", path("p")],
                    mentioning: ["--mask-lr", "--gate-clock step"])
    try assertFails(["prune", "--model", "lenet300", "--pretrain-epochs", "1", "--mu", "0", "--out", path("p")], mentioning: ["--mu 0"])
    try assertFails(["prune", "--model", "lenet300", "--pretrain-epochs", "1", "--target-sparsity", "0.9", "--freeze-at-target", "--out", path("p")],
                    mentioning: ["--freeze-at-target", "--gate-clock step"])
    try assertFails(["prune", "--model", "lenet300", "--pretrain-epochs", "1", "--target-sparsity", "0.9", "--target-params", "5000", "--out", path("p")],
                    mentioning: ["one target", "--target-sparsity", "--target-params"])
    // A parameter target beyond the model is refused before pretraining starts.
    try writeData(path("data"))
    let tooMany = try autoprune(["prune", "--model", "lenet300", "--data", path("data"), "--pretrain-epochs", "50", "--target-params", "266200", "--out", path("p")])
    XCTAssertNotEqual(tooMany.status, 0)
    XCTAssertTrue(tooMany.stderr.contains("--target-params 266200") && tooMany.stderr.contains("266200 weights"), tooMany.stderr)
    XCTAssertFalse((tooMany.stdout + tooMany.stderr).contains("dense pretraining"))
  }

  /// A budget on the phase clock is reached by the middle of the pruning phase, said in one line
  /// and in the JSON; `--eta-m` alone selects the step clock.
  func testBudgetLandsByMidPhaseAndTheStepClockStaysReachable() throws {
    try writeData(path("data"))
    let r = try autoprune(["prune", "--model", "lenet300", "--data", path("data"), "--pretrain-epochs", "1", "--prune-epochs", "4",
                           "--finetune-epochs", "1", "--target-params", "2662", "--out", path("b.safetensors"), "--json"])
    XCTAssertEqual(r.status, 0, r.stderr)
    let said = r.stdout + r.stderr
    XCTAssertTrue(said.contains("landed at") && said.contains("masks frozen since"), said)
    let json = try r.lastJSON()
    XCTAssertEqual(json["gate_clock"] as? String, "phase")
    XCTAssertEqual(json["mu_scale"] as? String, "network-relative")
    XCTAssertEqual(try XCTUnwrap(json["budget_reached"] as? Double), 0.01, accuracy: 0.0002)
    XCTAssertEqual(json["budget_step"] as? Int, 2, "1 step an epoch, 4 prune steps: half-way")
    XCTAssertEqual(json["prune_steps"] as? Int, 4)
    let step = try autoprune(["prune", "--model", "lenet300", "--data", path("data"), "--pretrain-epochs", "1", "--prune-epochs", "1",
                              "--finetune-epochs", "0", "--eta-m", "10", "--out", path("s.safetensors"), "--json"])
    XCTAssertEqual(step.status, 0, step.stderr)
    let stepJSON = try step.lastJSON()
    XCTAssertEqual(stepJSON["gate_clock"] as? String, "step")
    XCTAssertEqual(stepJSON["eta_m"] as? Double, 10)
    XCTAssertEqual(stepJSON["mu_scale"] as? String, "absolute")
  }

  /// A long pruning phase (a small data set) trains on shifted images unless --no-augment says
  /// not to; a short one does not; --augment is the CIFAR setting. The summary says which.
  func testLongPruningPhasesShiftTheImagesByDefault() throws {
    try writeData(path("data"))
    func prune(_ epochs: Int, _ extra: [String] = []) throws -> (said: String, augmentation: String?) {
      let r = try autoprune(["prune", "--model", "lenet300", "--data", path("data"), "--pretrain-epochs", "0", "--prune-epochs", "\(epochs)",
                             "--finetune-epochs", "0", "--out", path("a.safetensors"), "--json"] + extra)
      XCTAssertEqual(r.status, 0, r.stderr)
      return (r.stdout + r.stderr, try r.lastJSON()["augmentation"] as? String)
    }
    let long = try prune(21)
    XCTAssertTrue(long.said.contains("shifted by up to 3 pixels"), long.said)
    XCTAssertEqual(long.augmentation, "shifts ±3 px")
    XCTAssertNil(try prune(20).augmentation)
    let off = try prune(21, ["--no-augment"])
    XCTAssertNil(off.augmentation)
    XCTAssertFalse(off.said.contains("shifted"), off.said)
    XCTAssertEqual(try prune(2, ["--augment"]).augmentation, "shifts ±4 px, flips")
  }

  /// The kernel set and GEMM backend named in the environment: applied (any case, spaces
  /// ignored, empty = unset) or refused in one line before any work, for `run` too.
  func testKernelAndGEMMEnvironmentIsAppliedOrRefused() throws {
    let chosen = try CLI.run(["info", "--json"], in: scratch, environment: ["AUTOPRUNE_KERNELS": " Baseline "])
    XCTAssertEqual(chosen.status, 0, chosen.stderr)
    XCTAssertEqual(try chosen.lastJSON()["kernels"] as? String, "baseline")
    XCTAssertEqual(try CLI.run(["info"], in: scratch, environment: ["AUTOPRUNE_KERNELS": "", "AUTOPRUNE_GEMM": ""]).status, 0)
    try CLI.assertFails(["info"], in: scratch, environment: ["AUTOPRUNE_KERNELS": "sse9"], mentioning: ["AUTOPRUNE_KERNELS", "'sse9'", "baseline"])
    try CLI.assertFails(["info"], in: scratch, environment: ["AUTOPRUNE_GEMM": "mkl"], mentioning: ["AUTOPRUNE_GEMM", "'mkl'", "builtin"])
    try CLI.assertFails(
      ["run", "no-such-recipe.yaml", "--out", path("never")], in: scratch, environment: ["AUTOPRUNE_KERNELS": "sse9"], mentioning: ["AUTOPRUNE_KERNELS"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("never")))
  }

  /// `info` reports the settings the tool computes with: the thread count asked for, a GEMM
  /// backend and a kernel set this CPU runs.
  func testInfoReportsTheThreadsBackendAndKernelsInUse() throws {
    for threads in [1, 2] {
      let r = try autoprune(["info", "--threads", "\(threads)", "--json"])
      XCTAssertEqual(r.status, 0, r.stderr)
      let json = try r.lastJSON()
      XCTAssertEqual(json["threads"] as? Int, threads)
      XCTAssertTrue(["builtin", "blas"].contains(json["gemm"] as? String ?? ""), "\(json)")
      let supported = try XCTUnwrap(json["kernels_supported"] as? [String])
      XCTAssertTrue(supported.contains(json["kernels"] as? String ?? ""), "\(json)")
      XCTAssertTrue(r.stdout.contains("\(threads) of"), r.stdout)
    }
  }
}
