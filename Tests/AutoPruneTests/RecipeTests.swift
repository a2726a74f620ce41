import AutoPrune
import Foundation
import XCTest

/// Recipes and the experiment directories they run into, as library calls.
final class RecipeTests: XCTestCase {
  private let text = """
    name: old-names
    command: prune
    seeds: [1, 2]
    args:
      model: lenet300
      from: runs/dense/seed-{seed}/model.safetensors
      eta-m: 10
    """

  /// Recipes written before the options were renamed keep running: an old name means the new
  /// option, in the file and in a `--set`.
  func testOldOptionNamesMeanTheNewOnes() throws {
    var recipe = try Recipe.parse(text, path: "r.yaml")
    XCTAssertEqual(recipe.args.map(\.key), ["model", "weights", "mask-lr"])
    XCTAssertEqual(recipe.line(mentionedIn: "error: --weights x: no such file")?.line, 6, "errors still find the line")
    try recipe.set(override: "from=other.safetensors")
    XCTAssertEqual(recipe.args.filter { $0.key == "weights" }.map(\.value), ["other.safetensors"])
    let arguments = recipe.arguments(seed: 2, runDirectory: "runs/x/seed-2")
    XCTAssertTrue(arguments.contains("--weights") && !arguments.contains("--from"), "\(arguments)")
    XCTAssertThrowsError(try Recipe.parse(text + "\n  weights: again.safetensors", path: "r.yaml")) {
      XCTAssertTrue("\($0)".contains("gives weights a second time"), "\($0)")
    }
    XCTAssertThrowsError(try recipe.set(override: "no-equals-sign")) { XCTAssertTrue("\($0)".contains("expected KEY=VALUE"), "\($0)") }
  }

  func testAnExperimentKnowsItsSeedsAndKeepsOneRecipePerDirectory() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("exp-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    let experiment = Experiment(recipe: try Recipe.parse(text, path: "r.yaml"), root: root)
    XCTAssertEqual(experiment.seeds, [1, 2])
    XCTAssertEqual(experiment.state(of: 1), .new)
    try experiment.claim(recipeText: text, source: "r.yaml")
    try FileManager.default.createDirectory(atPath: experiment.directory(seed: 1), withIntermediateDirectories: true)
    try Data("{}".utf8).write(to: URL(fileURLWithPath: experiment.directory(seed: 1) + "/summary.json"))
    XCTAssertEqual(experiment.state(of: 1), .finished)
    XCTAssertTrue(experiment.holdsRuns)
    // The same recipe again is fine; another one with the same name is refused.
    XCTAssertNoThrow(try experiment.claim(recipeText: text, source: "r.yaml"))
    XCTAssertThrowsError(try experiment.claim(recipeText: text + "\n# changed", source: "s.yaml")) {
      XCTAssertTrue("\($0)".contains("holds another experiment"), "\($0)")
    }
  }
}
