import Foundation

/// Writes the seed corpora under Fuzz/Corpus/ from the repository root, in a plain build (the
/// fuzzer's own build links libFuzzer's `main` into every executable):
///
///     swift run --package-path Fuzz --scratch-path Fuzz/.build-plain MakeCorpus [--run RUN_DIR ...]
///
/// RUN_DIR: directories of tiny real runs, whose summary.json and log.jsonl become FuzzRunLog
/// seeds. Files saved by hand (crash-*) are left alone.
@main
enum MakeCorpus {
  static func main() {
    var runs: [String] = []
    var rest = Array(CommandLine.arguments.dropFirst())
    while let i = rest.firstIndex(of: "--run"), i + 1 < rest.count {
      runs.append(rest[i + 1])
      rest.removeSubrange(i...(i + 1))
    }
    let root = "Fuzz/Corpus"
    do {
      try DataSeeds.idx(Seeds(root, harness: "FuzzIDX"))
      try DataSeeds.cifar(Seeds(root, harness: "FuzzCIFAR"))
      try ImageSeeds.write(Seeds(root, harness: "FuzzImage"))
      try SafeTensorsSeeds.write(Seeds(root, harness: "FuzzSafeTensors"))
      try CheckpointSeeds.write(Seeds(root, harness: "FuzzCheckpoint"))
      try ONNXSeeds.write(Seeds(root, harness: "FuzzONNX"))
      try TextSeeds.recipes(Seeds(root, harness: "FuzzRecipe"), from: "recipes")
      try TextSeeds.runLogs(Seeds(root, harness: "FuzzRunLog"), runs: runs)
    } catch {
      FileHandle.standardError.write(Data("MakeCorpus: \(error)\n".utf8))
      exit(1)
    }
  }
}
