import Foundation
import XCTest

/// Image folders through the command line: make-image-folder, train, eval, prune and export an
/// ImageNet network on one (with a corrupt file in it), and the options refused around them.
final class ImageFolderCLITests: XCTestCase {
  var scratch: URL!

  override func setUpWithError() throws {
    scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cli-folder-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
  }

  override func tearDown() { try? FileManager.default.removeItem(at: scratch) }

  func autoprune(_ arguments: [String]) throws -> CLI.Result { try CLI.run(arguments, in: scratch) }

  func assertFails(_ arguments: [String], mentioning fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
    try CLI.assertFails(arguments, in: scratch, mentioning: fragments, file: file, line: line)
  }

  private func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

  /// MNIST-format data whose test classes are among its training classes (10 and 3 images).
  private func writeData() throws {
    let pixels: [UInt8] = (0..<(10 * 784)).map { (i: Int) -> UInt8 in UInt8((i * 7 + i / 784 * 50) % 256) }
    let images = [UInt8](CLI.idx([10, 28, 28], pixels))
    try CLI.writeMNIST(path("mnist"), trainLabels: [5, 6, 7, 5, 6, 7, 5, 6, 7, 5], trainImages: images)
  }

  func testAnImageNetNetworkTrainsPrunesAndExportsFromAFolder() throws {
    try writeData()
    let m = try autoprune(["make-image-folder", "--data", path("mnist"), "--out-dir", path("folder"), "--size", "40", "--format", "mixed"])
    // Mixed needs libturbojpeg for the JPEG half; without it the folder is PNG.
    if m.status != 0 {
      XCTAssertTrue(m.stderr.contains("libturbojpeg"), m.stderr)
      let png = try autoprune(["make-image-folder", "--data", path("mnist"), "--out-dir", path("folder"), "--size", "40", "--format", "png"])
      XCTAssertEqual(png.status, 0, png.stderr)
    }
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("folder/train")).sorted(), ["5", "6", "7"])
    try assertFails(["make-image-folder", "--data", path("mnist"), "--out-dir", path("folder")], mentioning: ["--out-dir", "exists"])
    try Data("not a png".utf8).write(to: URL(fileURLWithPath: path("folder/train/6/broken.png")))

    let t = try autoprune(["train", "--model", "resnet18", "--data", path("folder"), "--input-size", "32", "--epochs", "1", "--batch-size", "5",
                           "--out", path("r.safetensors"), "--json", "--quiet"])
    XCTAssertEqual(t.status, 0, t.stderr)
    XCTAssertTrue(t.stderr.contains("broken.png") && t.stderr.contains("skipping"), t.stderr)
    let trained = try t.lastJSON()
    let e = try autoprune(["eval", "--weights", path("r.safetensors"), "--data", path("folder"), "--json"])
    XCTAssertEqual(e.status, 0, e.stderr)
    XCTAssertEqual(try e.lastJSON()["test_accuracy"] as? Double, trained["test_accuracy"] as? Double, "the centre crops evaluate the same")

    let p = try autoprune(["prune", "--model", "resnet18", "--weights", path("r.safetensors"), "--data", path("folder"), "--input-size", "32",
                           "--granularity", "unit", "--target-flops-reduction", "0.3", "--prune-epochs", "1", "--finetune-epochs", "0",
                           "--batch-size", "5", "--out", path("p.safetensors"), "--json", "--quiet"])
    XCTAssertEqual(p.status, 0, p.stderr)
    let x = try autoprune(["export", "--weights", path("p.safetensors"), "--thin", "--out", path("p.onnx")])
    XCTAssertEqual(x.status, 0, x.stderr)

    // A folder whose classes are not the ones the weights learned.
    try FileManager.default.moveItem(atPath: path("folder/train/7"), toPath: path("folder/train/9"))
    try FileManager.default.moveItem(atPath: path("folder/val/7"), toPath: path("folder/val/9"))
    try assertFails(["eval", "--weights", path("r.safetensors"), "--data", path("folder")], mentioning: ["class_names", "5, 6, 7", "5, 6, 9"])
  }

  func testSizesAndOptionsThatDoNotFitAreRefused() throws {
    try writeData()
    let m = try autoprune(["make-image-folder", "--data", path("mnist"), "--out-dir", path("folder"), "--size", "16", "--format", "png"])
    XCTAssertEqual(m.status, 0, m.stderr)
    let out = ["--epochs", "1", "--out", path("x.safetensors")]
    try assertFails(["train", "--model", "resnet18", "--data", path("folder"), "--resize", "32"] + out, mentioning: ["--resize", "--input-size"])
    try assertFails(["train", "--model", "lenet5", "--data", path("mnist"), "--input-size", "64"] + out, mentioning: ["--input-size 64", "lenet5 takes 28×28"])
    try assertFails(["train", "--model", "resnet18", "--data", path("mnist"), "--input-size", "32"] + out, mentioning: ["--input-size applies to image folders"])
    try assertFails(["train", "--model", "alexnet", "--data", path("folder"), "--input-size", "16"] + out, mentioning: ["alexnet at 16×16", "larger --input-size"])
    try assertFails(["train", "--model", "resnet18", "--data", path("folder"), "--crop-scale", "0"] + out, mentioning: ["--crop-scale"])
    try assertFails(["train", "--model", "resnet18", "--data", path("folder"), "--width", "0.5"] + out, mentioning: ["--width", "vgg-like and mobilenetv2"])
    try assertFails(["make-image-folder", "--data", path("mnist"), "--out-dir", path("other"), "--format", "gif"], mentioning: ["--format"])
  }
}
