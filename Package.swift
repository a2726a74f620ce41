// swift-tools-version:6.0
import PackageDescription

// No unsafeFlags here (they forbid use as a dependency): scripts/build.sh adds
// `-target-cpu native` so the built-in SIMD GEMM gets FMA and wide registers.
let package = Package(
  name: "AutoPrune",
  platforms: [.macOS(.v13)],
  products: [
    .library(name: "AutoPrune", targets: ["AutoPrune"]),
    .executable(name: "autoprune", targets: ["autoprune"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    // Recipes are YAML (issue 4); Yams gives node positions for errors that name the line.
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
  ],
  targets: [
    .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
    .target(name: "AutoPruneKernels"),
    .target(name: "AutoPruneNN", dependencies: ["AutoPruneKernels", "CZlib"]),
    .target(
      name: "AutoPrune",
      dependencies: ["AutoPruneNN", "AutoPruneKernels"],
      resources: [.copy("Resources/fashion-mnist-subset")]
    ),
    .executableTarget(
      name: "autoprune",
      dependencies: [
        "AutoPrune", "AutoPruneNN", "AutoPruneKernels",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Yams", package: "Yams"),
      ]
    ),
    .testTarget(name: "AutoPruneKernelsTests", dependencies: ["AutoPruneKernels"]),
    .testTarget(name: "AutoPruneNNTests", dependencies: ["AutoPruneNN", "AutoPruneKernels"]),
    .testTarget(name: "AutoPruneTests", dependencies: ["AutoPrune", "AutoPruneNN"]),
    .testTarget(name: "AutoPruneCLITests", dependencies: ["autoprune"]),
  ]
)
