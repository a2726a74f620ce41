import AutoPrune
import Foundation
import XCTest

/// The hostile inputs of issue 18, as a user meets them: each ends in one line naming the file,
/// key or flag (exit 1 for a runtime failure, 64 for a mistake in the command line), is found
/// before any long work, and never touches another run's files.
final class HostileInputCLITests: XCTestCase {
  private var scratch: URL!

  override func setUpWithError() throws {
    scratch = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
  }

  override func tearDown() { try? FileManager.default.removeItem(at: scratch) }

  private func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }
  private func autoprune(_ arguments: [String]) throws -> CLI.Result { try CLI.run(arguments, in: scratch) }
  private func assertFails(_ arguments: [String], status: Int32, mentioning fragments: [String], line: UInt = #line) throws {
    try CLI.assertFails(arguments, in: scratch, mentioning: fragments, status: status, line: line)
  }
  private func train(_ out: String, extra: [String] = []) -> [String] {
    ["train", "--model", "lenet300", "--data", path("data"), "--epochs", "1", "--out", path(out), "--quiet"] + extra
  }

  func testHugeBatchSizeAndEpochCountsAreHandled() throws {
    try CLI.writeMNIST(path("data"))
    // Int.max overflowed the batch arithmetic: it is one batch of the whole data set.
    let r = try autoprune(train("w.safetensors", extra: ["--batch-size", "9223372036854775807"]))
    XCTAssertEqual(r.status, 0, r.stderr)
    // An epoch count that printed as a negative 32-bit number is refused up front.
    try assertFails(train("w.safetensors", extra: ["--epochs", "3567587328"]), status: 64, mentioning: ["--epochs", "at most"])
    try assertFails(["prune", "--model", "lenet300", "--pretrain-epochs", "0", "--prune-epochs", "99999999999", "--out", path("p.safetensors")],
                    status: 64, mentioning: ["--prune-epochs", "at most"])
  }

  func testEmptyDataSetsAreRefusedNamingTheFile() throws {
    try CLI.writeMNIST(path("data"), testCount: 0)
    try assertFails(train("w.safetensors"), status: 1, mentioning: ["t10k-images-idx3-ubyte", "at least one image"])
    try CLI.writeMNIST(path("data"), trainLabels: [], trainImages: [UInt8](CLI.idx([0, 28, 28], [])))
    try assertFails(train("w.safetensors"), status: 1, mentioning: ["train-images-idx3-ubyte", "at least one image"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("w.safetensors")))
  }

  func testBrokenLinksAreNamedAsSuch() throws {
    try CLI.writeMNIST(path("data"))
    let images = path("data/train-images-idx3-ubyte")
    try FileManager.default.removeItem(atPath: images)
    try FileManager.default.createSymbolicLink(atPath: images, withDestinationPath: path("gone"))
    try assertFails(train("w.safetensors"), status: 1, mentioning: [images, "dangling symbolic link"])
    try FileManager.default.removeItem(atPath: images)
    try FileManager.default.createSymbolicLink(atPath: images, withDestinationPath: images)
    try assertFails(train("w.safetensors"), status: 1, mentioning: [images, "symbolic link loop"])
  }

  func testNonFiniteWeightsAreRefused() throws {
    try CLI.writeMNIST(path("data"))
    XCTAssertEqual(try autoprune(train("w.safetensors")).status, 0)
    let file = try SafeTensors.read(path: path("w.safetensors"))
    let tensors = file.tensors.map { t in (name: t.name, shape: t.shape, values: t.name == "fc2.weight" ? [Float.nan] + t.values.dropFirst() : t.values) }
    try SafeTensors.write(tensors, metadata: file.metadata, to: path("nan.safetensors"))
    for command in [["eval", "--weights", path("nan.safetensors"), "--data", path("data")],
                    ["export", "--weights", path("nan.safetensors"), "--onnx", path("nan.onnx")],
                    ["prune", "--model", "lenet300", "--from", path("nan.safetensors"), "--data", path("data"), "--out", path("p.safetensors")]] {
      try assertFails(command, status: 1, mentioning: [path("nan.safetensors"), "fc2.weight", "nan"])
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("nan.onnx")))
  }

  /// A foreign file (no metadata) whose vgg-like stem has 100,000 filters would build a network
  /// of terabytes from its width; it is refused by the stem's shape.
  func testForeignStemCannotAskForAGiantNetwork() throws {
    try SafeTensors.write([("conv1.weight", [100_000, 3, 1, 1], [Float](repeating: 0, count: 300_000))], metadata: [:], to: path("giant.safetensors"))
    XCTAssertThrowsError(try WeightsFile.loadModel(path: path("giant.safetensors"), kind: .vggLike)) { error in
      XCTAssertTrue("\(error)".contains("conv1.weight"), "\(error)")
    }
  }

  /// A few bytes of metadata asking for a vgg-like of width 4 (a gigabyte of weights) are
  /// refused before the model is built.
  func testMetadataCannotAskForAGiantNetwork() throws {
    try SafeTensors.write([("x", [1], [0])], metadata: ["model": "vgg-like", "width": "4"], to: path("wide.safetensors"))
    XCTAssertThrowsError(try WeightsFile.loadModel(path: path("wide.safetensors"), kind: nil)) { error in
      XCTAssertTrue("\(error)".contains("holds 1 values, a vgg-like of width 4.0"), "\(error)")
    }
  }

  func testOutputsAreCheckedBeforeAnyWork() throws {
    try CLI.writeMNIST(path("data"))
    try FileManager.default.createDirectory(atPath: path("adir"), withIntermediateDirectories: true)
    try assertFails(train("adir"), status: 64, mentioning: ["--out", "is a directory"])
    try assertFails(["train", "--model", "lenet300", "--data", path("data"), "--out", ""], status: 64, mentioning: ["--out", "empty"])
    XCTAssertEqual(try autoprune(train("w.safetensors")).status, 0)
    // A command never writes over its own input.
    try assertFails(["prune", "--model", "lenet300", "--from", path("w.safetensors"), "--data", path("data"), "--out", path("w.safetensors")],
                    status: 64, mentioning: ["--out", "also --weights"])
    try assertFails(["export", "--weights", path("w.safetensors"), "--onnx", path("w.safetensors")], status: 64, mentioning: ["--out", "also --weights"])
    // A resize the model cannot take is refused before the data is read or padded.
    try assertFails(["train", "--model", "lenet5", "--data", path("missing"), "--resize", "1024", "--out", path("x.safetensors")],
                    status: 64, mentioning: ["--resize 1024", "28×28"])
  }

  func testRunsNeverClobberOneAnother() throws {
    try CLI.writeMNIST(path("data"))
    // An interrupted run in runs/model: its checkpoint and log must survive a new run whose
    // --out has the same file name.
    try FileManager.default.createDirectory(atPath: path("runs/model"), withIntermediateDirectories: true)
    try Data("checkpoint".utf8).write(to: URL(fileURLWithPath: Checkpoint.path(in: path("runs/model"))))
    try Data("{\"epoch\":1}\n".utf8).write(to: URL(fileURLWithPath: path("runs/model/log.jsonl")))
    try FileManager.default.createDirectory(atPath: path("other"), withIntermediateDirectories: true)
    let r = try autoprune(train("other/model.safetensors"))
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertEqual(try String(contentsOfFile: Checkpoint.path(in: path("runs/model")), encoding: .utf8), "checkpoint")
    XCTAssertEqual(try String(contentsOfFile: path("runs/model/log.jsonl"), encoding: .utf8), "{\"epoch\":1}\n")
    XCTAssertTrue(FileManager.default.fileExists(atPath: path("runs/model-2/summary.json")))
    // Naming that directory explicitly is refused: only --resume goes on with it.
    try assertFails(train("m.safetensors", extra: ["--run-dir", path("runs/model")]), status: 64, mentioning: ["--resume", "interrupted"])
  }

  func testRecipesCannotAskForAbsurdSeedsOrEscapeRuns() throws {
    func recipe(_ text: String) throws -> String {
      let file = path("recipe-\(UUID().uuidString).yaml")
      try Data(text.utf8).write(to: URL(fileURLWithPath: file))
      return file
    }
    let base = "command: train\nargs:\n  model: lenet300\n  epochs: 1\n"
    try assertFails(["run", try recipe("name: x\nseeds: 1000000000000\n" + base), "--dry-run"], status: 1, mentioning: ["seeds"])
    // A YAML 1.1 base-60 number (found by FuzzRecipe) trapped in Yams' integer conversion.
    try assertFails(["run", try recipe("name: x\nseeds: 1:1:1:1:1:1:1:1:1:1:1\n" + base), "--dry-run"], status: 1, mentioning: ["seeds"])
    try assertFails(["run", try recipe("name: x\n" + base), "--seeds", "1000000000000", "--dry-run"], status: 64, mentioning: ["--seeds"])
    for name in ["..", ".", "a/b", "-rf"] {
      try assertFails(["run", try recipe("name: '\(name)'\n" + base), "--dry-run"], status: 1, mentioning: ["name", "plain directory name"])
    }
    try assertFails(["run", try recipe("name: x\n" + base), "--set", "run-dir=/tmp", "--dry-run"], status: 1, mentioning: ["run-dir", "set by `autoprune run`"])
    // Two recipes sharing a name: the second must not overwrite the first's seeds.
    try CLI.writeMNIST(path("data"))
    let first = try recipe("name: same\n" + base + "  data: \(path("data"))\n  quiet: true\n")
    XCTAssertEqual(try autoprune(["run", first]).status, 0)
    let second = try recipe("name: same\n" + base + "  data: \(path("data"))\n  lr: 0.01\n")
    try assertFails(["run", second], status: 1, mentioning: ["holds another experiment", "recipe.yaml"])
    // The same recipe again: its finished seeds are kept (skipped with --skip-done).
    try assertFails(["run", first], status: 1, mentioning: ["seed-1 holds a finished run", "--skip-done"])
    XCTAssertEqual(try autoprune(["run", first, "--skip-done"]).status, 0)
    try assertFails(["run", try recipe("name: y\nseeds: [1, 1]\n" + base), "--dry-run"], status: 1, mentioning: ["seeds", "twice"])
    try assertFails(["run", first, "--set", "name=../x", "--dry-run"], status: 64, mentioning: ["--set name"])
    // A YAML syntax error keeps its line and reason on the one line.
    try assertFails(["run", try recipe("name: x\nargs: [unclosed\n"), "--dry-run"], status: 1, mentioning: [".yaml:3", "not valid YAML at column", "flow sequence"])
  }

  /// Foundation's file errors ("NSCocoaErrorDomain error 516") reach the user as PATH: reason.
  func testFoundationFileErrorsAreNamedInWords() throws {
    let recipe = path("r.yaml")
    try Data("name: x\ncommand: train\nargs:\n  model: lenet300\n  epochs: 1\n".utf8).write(to: URL(fileURLWithPath: recipe))
    try Data("a file".utf8).write(to: URL(fileURLWithPath: path("taken")))
    let r = try autoprune(["run", recipe, "--out", path("taken/exp")])
    XCTAssertEqual(r.status, 1, r.stderr)
    XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain") || r.stderr.contains("Code="), r.stderr)
    XCTAssertTrue(r.stderr.contains(path("taken")), r.stderr)
    XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
  }

  func testTableRefusesFiguresOutOfRange() throws {
    // 1e999 is infinite: not even JSON to Foundation, refused as such.
    for (value, shown) in [("1e999", "inf"), ("2.5", "2.5"), ("-1", "-1")] {
      let dir = path("runs/bad-\(shown)/seed-1")
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      try Data("{\"test_accuracy\": \(value), \"compression\": 2}".utf8).write(to: URL(fileURLWithPath: dir + "/summary.json"))
      let named = shown == "inf" ? ["summary.json"] : ["summary.json", "test_accuracy = \(shown)"]
      try assertFails(["table", path("runs/bad-\(shown)")], status: 1, mentioning: named)
      try assertFails(["report", path("runs/bad-\(shown)"), "--html", path("r.html")], status: 1, mentioning: named)
    }
  }

  /// Second round (a hostile review of the first fixes): each of these wrote over a file, hung,
  /// or printed a result from nothing.
  func testDataFilesRunFilesAndReportInputsAreNeverOverwritten() throws {
    try CLI.writeMNIST(path("data"))
    try assertFails(train("data/train-images-idx3-ubyte"), status: 64, mentioning: ["--out", "also --data"])
    XCTAssertEqual(try autoprune(train("w.safetensors")).status, 0)
    try assertFails(["eval", "--weights", path("w.safetensors"), "--data", path("data"), "--logits-out", path("data/t10k-images-idx3-ubyte")],
                    status: 64, mentioning: ["--logits-out", "also --data"])
    // An --out of dots names no run directory: the run goes to runs/run, not to runs/..
    XCTAssertEqual(try autoprune(train("...safetensors")).status, 0)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("summary.json")))
    XCTAssertTrue(FileManager.default.fileExists(atPath: path("runs/run/summary.json")))
    // An explicit --run-dir holding a finished run, an --out that is a run file, an empty --run-dir.
    try assertFails(train("x.safetensors", extra: ["--run-dir", path("runs/run")]), status: 64, mentioning: ["finished run"])
    try FileManager.default.createDirectory(atPath: path("R1"), withIntermediateDirectories: true)
    try assertFails(train("R1/summary.json", extra: ["--run-dir", path("R1")]), status: 64, mentioning: ["run directory's summary.json"])
    try assertFails(train("y.safetensors", extra: ["--run-dir", ""]), status: 64, mentioning: ["--run-dir is empty"])
    try assertFails(["report", path("runs/run"), "--html", path("runs/run/summary.json")], status: 64, mentioning: ["--out", "run's file"])
  }

  func testFIFOsDegenerateNormalisationAndOverflowingWeightsAreRefused() throws {
    try CLI.writeMNIST(path("data"))
    try FileManager.default.removeItem(atPath: path("data/t10k-labels-idx1-ubyte"))
    XCTAssertEqual(mkfifo(path("data/t10k-labels-idx1-ubyte"), 0o644), 0)
    try assertFails(train("w.safetensors"), status: 1, mentioning: ["t10k-labels-idx1-ubyte", "not a regular file"])
    try FileManager.default.removeItem(atPath: path("data/t10k-labels-idx1-ubyte"))
    try CLI.writeMNIST(path("data"))
    XCTAssertEqual(try autoprune(train("w.safetensors")).status, 0)
    let file = try SafeTensors.read(path: path("w.safetensors"))
    let huge = file.tensors.map { t in (name: t.name, shape: t.shape, values: t.name == "fc3.weight" ? [Float](repeating: 3e38, count: t.values.count) : t.values) }
    try SafeTensors.write(huge, metadata: file.metadata, to: path("huge.safetensors"))
    try assertFails(["eval", "--weights", path("huge.safetensors"), "--data", path("data")], status: 1, mentioning: ["huge.safetensors", "not finite"])
    var metadata = file.metadata
    metadata["normalization_std"] = "1e-45"
    try SafeTensors.write(file.tensors.map { ($0.name, $0.shape, $0.values) }, metadata: metadata, to: path("tiny-std.safetensors"))
    try assertFails(["eval", "--weights", path("tiny-std.safetensors"), "--data", path("data")], status: 1, mentioning: ["normalization_std"])
    metadata = file.metadata
    metadata["model"] = "lenet9"
    try SafeTensors.write(file.tensors.map { ($0.name, $0.shape, $0.values) }, metadata: metadata, to: path("lenet9.safetensors"))
    try assertFails(["eval", "--weights", path("lenet9.safetensors"), "--data", path("data")], status: 1, mentioning: ["metadata model = lenet9"])
  }

  func testOptionsThatWouldBeIgnoredOrMisreadAreRefused() throws {
    let prune = ["prune", "--model", "lenet300", "--pretrain-epochs", "0", "--out", path("p.safetensors")]
    try assertFails(prune + ["--sparsity", "0.5"], status: 64, mentioning: ["--sparsity", "--target-sparsity"])
    try assertFails(prune + ["--width", "0.5"], status: 64, mentioning: ["--width", "vgg-like and mobilenetv2 only"])
    try assertFails(prune + ["--layer-gates", ""], status: 64, mentioning: ["--layer-gates: the plan is empty"])
    try assertFails(prune + ["--layer-gates", "fc1=output,fc1=input"], status: 64, mentioning: ["fc1 is named twice"])
    try assertFails(prune + ["--batch-size", "-5"], status: 64, mentioning: ["--batch-size", "at least 1"])
    // prune's phases have their own epoch counts; --epochs would be ignored.
    try assertFails(prune + ["--epochs", "3"], status: 64, mentioning: ["--pretrain-epochs, --prune-epochs and --finetune-epochs, not --epochs"])
    // An option and its old name at once; a mask rate for a method without gates to learn.
    try assertFails(prune + ["--mask-lr", "1", "--eta-m", "2"], status: 64, mentioning: ["old names of --mask-lr"])
    try assertFails(prune + ["--method", "dns", "--mask-lr", "1"], status: 64, mentioning: ["--mask-lr is for --method autoprune or l0"])
    try assertFails(["export", "--weights", path("w.safetensors"), "--out", path("a.onnx"), "--onnx", path("b.onnx")], status: 64,
                    mentioning: ["--onnx is the old name of --out"])
    try assertFails(["export", "--weights", path("w.safetensors")], status: 64, mentioning: ["give --out MODEL.onnx"])
    // A CIFAR directory missing its test batch names that file, not an MNIST one.
    try FileManager.default.createDirectory(atPath: path("cifar"), withIntermediateDirectories: true)
    try Data(repeating: 1, count: 3073).write(to: URL(fileURLWithPath: path("cifar/data_batch_1.bin")))
    try assertFails(["train", "--model", "resnet20", "--data", path("cifar"), "--out", path("c.safetensors")], status: 1, mentioning: ["test_batch.bin"])
    // table names a dangling summary.json as such.
    try FileManager.default.createDirectory(atPath: path("runs/dangling"), withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: path("runs/dangling/summary.json"), withDestinationPath: path("gone.json"))
    try assertFails(["table", path("runs/dangling")], status: 1, mentioning: ["dangling symbolic link"])
  }
}
