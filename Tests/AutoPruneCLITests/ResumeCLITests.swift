import AutoPrune
import Foundation
import XCTest

/// Kill a pruning job with SIGKILL mid-run, resume it from its run directory, and get the
/// files an uninterrupted run writes, bit for bit.
final class ResumeCLITests: XCTestCase {
  private var scratch: URL!

  override func setUpWithError() throws {
    scratch = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
  }

  override func tearDown() { try? FileManager.default.removeItem(at: scratch) }

  private func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

  private func start(_ arguments: [String]) throws -> Process {
    let process = Process()
    process.executableURL = CLI.executable
    process.arguments = arguments
    process.currentDirectoryURL = scratch
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
  }

  private func job(_ name: String) -> [String] {
    ["prune", "--model", "lenet5", "--data", "bundled", "--batch-size", "50", "--pretrain-epochs", "2", "--method", "autoprune",
     "--mu", "1e-3", "--prune-epochs", "3", "--finetune-epochs", "2", "--checkpoint-every", "7",
     "--run-dir", path(name), "--out", path("\(name).safetensors")]
  }

  /// Each log line without its timings.
  private func logLines(_ name: String) throws -> [NSDictionary] {
    let text = try String(contentsOfFile: path("\(name)/log.jsonl"), encoding: .utf8)
    return try text.split(separator: "\n").map { line in
      let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      return object.filter { !["elapsed_seconds", "epoch_seconds"].contains($0.key) } as NSDictionary
    }
  }

  func testSigkilledPruningResumesBitIdentically() throws {
    let straight = try start(job("straight"))
    straight.waitUntilExit()
    XCTAssertEqual(straight.terminationStatus, 0)

    let victim = try start(job("killed"))
    let checkpoint = Checkpoint.path(in: path("killed"))
    let deadline = Date().addingTimeInterval(60)
    while !FileManager.default.fileExists(atPath: checkpoint) && victim.isRunning && Date() < deadline { usleep(2_000) }
    // Let it run on past a few more checkpoints (every 7 steps, 40 steps an epoch) before the kill.
    usleep(700_000)
    kill(victim.processIdentifier, SIGKILL)
    victim.waitUntilExit()
    XCTAssertEqual(victim.terminationReason, .uncaughtSignal, "the job finished before the kill: the test proves nothing")
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("killed/summary.json")))
    XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint))

    // `--resume DIR` alone: the other options come from the checkpoint.
    let resumed = try start(["prune", "--resume", path("killed")])
    resumed.waitUntilExit()
    XCTAssertEqual(resumed.terminationStatus, 0)

    let a = try Data(contentsOf: URL(fileURLWithPath: path("straight.safetensors")))
    let b = try Data(contentsOf: URL(fileURLWithPath: path("killed.safetensors")))
    XCTAssertTrue(a == b, "the resumed model differs from the uninterrupted one")
    XCTAssertEqual(try logLines("killed"), try logLines("straight"))
    let summary = { (name: String) throws -> [String: Any] in
      try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: self.path("\(name)/summary.json")))) as? [String: Any])
    }
    let s1 = try summary("straight"), s2 = try summary("killed")
    for key in ["test_accuracy", "dense_test_accuracy", "compression", "kept_weights", "flops_fraction", "final_mu"] {
      XCTAssertEqual(s1[key] as? NSObject, s2[key] as? NSObject, key)
    }
    // A finished run removes its checkpoint.
    XCTAssertFalse(FileManager.default.fileExists(atPath: checkpoint))
  }

  func testResumeRefusesOtherOptionsAndMissingCheckpoints() throws {
    let victim = try start(job("run"))
    let checkpoint = Checkpoint.path(in: path("run"))
    while !FileManager.default.fileExists(atPath: checkpoint) && victim.isRunning { usleep(2_000) }
    kill(victim.processIdentifier, SIGKILL)
    victim.waitUntilExit()
    try CLI.assertFails(job("run") + ["--mu", "5e-3", "--resume", path("run")], in: scratch, mentioning: ["the checkpoint was made by"])
    try CLI.assertFails(["train", "--resume", path("run")], in: scratch, mentioning: ["not `train`"])
    try CLI.assertFails(["prune", "--resume", path("nothing")], in: scratch, mentioning: ["no checkpoint here"])
    // One more option than --resume: a clear error, not "Missing expected argument '--model'".
    try CLI.assertFails(["prune", "--resume", path("run"), "--threads", "1"], in: scratch, mentioning: ["give --resume alone", "--model lenet5"], status: 64)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
    // Presentation flags may be added to --resume.
    let quiet = try CLI.run(["prune", "--resume", path("run"), "--quiet"], in: scratch)
    XCTAssertEqual(quiet.status, 0, quiet.stderr)
    XCTAssertEqual(quiet.stdout.split(separator: "\n").count, 1, "--quiet: only the result line: \(quiet.stdout)")
    // A truncated checkpoint (a crash mid-copy by hand, a full disk) is refused in one line.
    try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: checkpoint))
    try CLI.assertFails(["prune", "--resume", path("run")], in: scratch, mentioning: [Checkpoint.fileName])
  }

  func testDivergenceNamesTheStepAndStops() throws {
    try CLI.assertFails(
      ["train", "--model", "lenet300", "--data", "bundled", "--epochs", "1", "--lr", "1e30", "--out", path("x.safetensors")],
      in: scratch, mentioning: ["diverged at epoch 1, step"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.safetensors")))
  }

  /// `run RECIPE --resume DIR` after a kill: the interrupted seed resumes from its checkpoint.
  func testKilledRecipeRunResumes() throws {
    try """
      name: tiny
      seeds: [2]
      args:
        model: lenet5
        data: bundled
        batch-size: 50
        pretrain-epochs: 2
        prune-epochs: 2
        finetune-epochs: 1
        checkpoint-every: 5
      """.write(toFile: path("tiny.yaml"), atomically: true, encoding: .utf8)
    let straight = try start(["run", path("tiny.yaml"), "--out", path("straight")])
    straight.waitUntilExit()
    XCTAssertEqual(straight.terminationStatus, 0)
    let victim = try start(["run", path("tiny.yaml"), "--out", path("killed")])
    let checkpoint = Checkpoint.path(in: path("killed/seed-2"))
    while !FileManager.default.fileExists(atPath: checkpoint) && victim.isRunning { usleep(2_000) }
    usleep(500_000)
    kill(victim.processIdentifier, SIGKILL)
    victim.waitUntilExit()
    XCTAssertEqual(victim.terminationReason, .uncaughtSignal, "the run finished before the kill")
    let resumed = try CLI.run(["run", path("tiny.yaml"), "--resume", path("killed")], in: scratch)
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertTrue(resumed.stdout.contains("resuming from"), resumed.stdout)
    let a = try Data(contentsOf: URL(fileURLWithPath: path("straight/seed-2/model.safetensors")))
    let b = try Data(contentsOf: URL(fileURLWithPath: path("killed/seed-2/model.safetensors")))
    XCTAssertTrue(a == b, "the resumed recipe run differs from the uninterrupted one")
  }
}
