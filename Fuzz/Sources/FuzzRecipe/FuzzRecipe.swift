import AutoPrune
import Foundation
import FuzzSupport

// Recipes (YAML) as `autoprune run` reads them: the text as UTF-8 (what
// `String(contentsOfFile:encoding: .utf8)` refuses never reaches the parser), `Recipe.parse`,
// then each seed's command line, a `--set` override and the error-line lookup.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard let text = String(bytes: UnsafeBufferPointer(start: data, count: size), encoding: .utf8) else { return 0 }
  return Scratch.expectingErrors {
    var recipe = try Recipe.parse(text, path: "fuzz.yaml")
    for seed in recipe.seeds { _ = recipe.arguments(seed: seed, runDirectory: "runs/\(recipe.name)/seed-\(seed)") }
    try recipe.set("epochs", to: "2")
    _ = recipe.line(mentionedIn: "error: --mu must be positive")
  }
}
