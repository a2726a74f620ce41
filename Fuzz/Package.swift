// swift-tools-version:6.0
import PackageDescription

// libFuzzer harnesses (issue 18), one executable per reader of outside bytes, each defining
// LLVMFuzzerTestOneInput. A package of its own so the main package builds and tests without the
// fuzzer: scripts/fuzz.sh builds it with `--sanitize=fuzzer --sanitize=address` and runs every
// harness over its seeds in Corpus/<Harness>/ (docs/fuzzing.md).
let autoPrune = Target.Dependency.product(name: "AutoPrune", package: "AutoPrune")
let autoPruneNN = Target.Dependency.product(name: "AutoPruneNN", package: "AutoPrune")
let autoPruneONNX = Target.Dependency.product(name: "AutoPruneONNX", package: "AutoPrune")

let package = Package(
  name: "AutoPruneFuzz",
  dependencies: [.package(name: "AutoPrune", path: "..")],
  targets: [
    .target(name: "FuzzSupport", dependencies: [autoPrune, autoPruneNN]),
    .executableTarget(name: "FuzzIDX", dependencies: ["FuzzSupport", autoPruneNN]),
    .executableTarget(name: "FuzzCIFAR", dependencies: ["FuzzSupport", autoPruneNN]),
    .executableTarget(name: "FuzzImage", dependencies: ["FuzzSupport", autoPruneNN]),
    .executableTarget(name: "FuzzSafeTensors", dependencies: ["FuzzSupport", autoPrune]),
    .executableTarget(name: "FuzzCheckpoint", dependencies: ["FuzzSupport", autoPrune, autoPruneNN]),
    .executableTarget(name: "FuzzRecipe", dependencies: ["FuzzSupport", autoPrune]),
    .executableTarget(name: "FuzzONNX", dependencies: ["FuzzSupport", autoPruneONNX]),
    .executableTarget(
      name: "FuzzRunLog",
      dependencies: ["FuzzSupport", autoPrune, .product(name: "AutoPruneReport", package: "AutoPrune")]),
    // Writes Corpus/ (a plain build, see its doc comment).
    .executableTarget(name: "MakeCorpus", dependencies: ["FuzzSupport", autoPrune, autoPruneNN, autoPruneONNX]),
  ]
)
