import AutoPrune
import AutoPruneKernels
import AutoPruneNN
import ArgumentParser
import Foundation

struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Measure GEMM throughput, per-layer forward+backward time, LeNet epoch times and pruned-model inference.")

  @Flag(help: "Shorter timings, and epoch times extrapolated from a tenth of an epoch.")
  var quick = false

  @Option(help: "Comma-separated sections to run: gemm, conv, layers, epochs, inference, resnet, imagenet (default: all but imagenet).")
  var only: String = "gemm,conv,layers,epochs,inference,resnet"

  @Option(help: "For imagenet: image side and batch of the training-step timings (default 224 and 32).")
  var imageSize = 224

  @Option(help: "For imagenet: the batch of the training-step timings (default 32).")
  var batch = 32

  @Option(help: "A pruned model (.safetensors) for the inference section (repeatable; default: LeNets masked at AutoPrune's measured compression and unit architectures).")
  var pruned: [String] = []

  @OptionGroup var dataOptions: DataOptions
  @OptionGroup var runOptions: RunOptions

  /// Seconds per call of `body`: one warm-up call, then as many as fit in `budget` seconds.
  static func secondsPerCall(budget: Double, _ body: () -> Void) -> Double {
    body()
    var calls = 0
    let start = DispatchTime.now().uptimeNanoseconds
    var elapsed = 0.0
    repeat {
      body()
      calls += 1
      elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    } while elapsed < budget
    return elapsed / Double(calls)
  }

  static let sections = ["gemm", "conv", "layers", "epochs", "inference", "resnet", "imagenet"]

  func validate() throws {
    if !(16...1024).contains(imageSize) || batch < 1 { throw ValidationError("--image-size must be in 16…1024 and --batch at least 1") }
    for section in only.split(separator: ",") where !Bench.sections.contains(String(section)) {
      throw ValidationError("--only: unknown section '\(section)' (choose from \(Bench.sections.joined(separator: ", ")))")
    }
  }

  func run() throws {
    runOptions.apply()
    let chosen = Set(only.split(separator: ",").map(String.init))
    let budget = quick ? 0.15 : 0.6
    print("autoprune bench: \(CPUDescription.summary), \(Parallel.threads) threads, kernels \(Info.kernels), build \(Info.buildTarget)\n")
    var json: [String: Any] = [
      "command": "bench", "threads": Parallel.threads, "cpu": CPUDescription.summary, "kernels": InstructionSet.active.description,
      "gemm_backend": GEMM.backend.rawValue, "build_target": Info.buildTarget,
    ]
    if chosen.contains("gemm") { json["gemm"] = gemmTable(budget: budget) }
    if chosen.contains("conv") { json["conv"] = ConvolutionBench.table(budget: budget) }
    if chosen.contains("layers") { json["layers"] = layerTable(budget: budget) }
    if chosen.contains("epochs") { json["epochs"] = try epochTable() }
    if chosen.contains("resnet") { json["resnet"] = try resnetEpoch() }
    if chosen.contains("imagenet") {
      json["imagenet"] = try ImageNetBench.stepTable(size: imageSize, batch: batch, steps: quick ? 1 : 3)
      // With an image folder as --data: the file pipeline against tensors in memory.
      if dataOptions.isImageFolder, let folder = try dataOptions.load(side: 64).train as? ImageFolderDataset {
        json["pipeline"] = try ImageNetBench.pipeline(folder, batch: batch, batches: quick ? 4 : 16)
      }
    }
    if chosen.contains("inference") {
      let subjects = try pruned.isEmpty ? InferenceBench.defaultSubjects() : pruned.map { path in
        guard let model = try WeightsFile.loadModel(path: path, kind: nil)?.model else { throw Failure("\(path) does not name its model") }
        return InferenceBench.Subject(label: "\((path as NSString).lastPathComponent) (\(model.name))", model: model)
      }
      json["inference"] = try InferenceBench.table(subjects: subjects, budget: budget)
    }
    if runOptions.json { Output.json(json) }
  }

  /// GEMM GFLOP/s per backend on the LeNets' training shapes (batch 100) and on 1024³.
  func gemmTable(budget: Double) -> [[String: Any]] {
    let shapes: [(String, Transpose, Transpose, Int, Int, Int)] = [
      ("lenet300 fc1 forward", .none, .transposed, 100, 300, 784),
      ("lenet300 fc1 dWeight", .transposed, .none, 300, 784, 100),
      ("lenet300 fc2 dInput", .none, .none, 100, 300, 100),
      ("lenet5 conv1 forward", .none, .none, 20, 57600, 25),
      ("lenet5 conv2 forward", .none, .none, 50, 6400, 500),
      ("lenet5 conv2 dWeight", .none, .transposed, 50, 500, 6400),
      ("lenet5 conv2 dInput", .transposed, .none, 500, 6400, 50),
      ("lenet5 fc1 forward", .none, .transposed, 100, 500, 800),
      ("square 1024", .none, .none, 1024, 1024, 1024),
    ]
    var rows: [[String]] = []
    var records: [[String: Any]] = []
    for (label, ta, tb, m, n, k) in shapes {
      let a = [Float](repeating: 0.5, count: m * k)
      let b = [Float](repeating: 0.25, count: k * n)
      var c = [Float](repeating: 0, count: m * n)
      var rates: [GEMMBackend: Double] = [:]
      for backend in GEMM.availableBackends {
        let s = Bench.secondsPerCall(budget: budget) {
          GEMM.multiply(ta, tb, m: m, n: n, k: k, a: a, lda: ta == .none ? k : m, b: b, ldb: tb == .none ? n : k, c: &c, ldc: n, using: backend)
        }
        rates[backend] = 2 * Double(m * n * k) / s / 1e9
      }
      let t = "\(ta == .none ? "N" : "T")\(tb == .none ? "N" : "T")"
      let blas = rates[.blas].map { String(format: "%.1f", $0) } ?? "n/a"
      let builtin = String(format: "%.1f", rates[.builtin]!)
      let ratio = rates[.blas].map { String(format: "%.0f%%", 100 * rates[.builtin]! / $0) } ?? "n/a"
      rows.append([label, "\(m)×\(n)×\(k) \(t)", blas, builtin, ratio])
      records.append(["shape": label, "m": m, "n": n, "k": k, "blas_gflops": rates[.blas] ?? NSNull(), "builtin_gflops": rates[.builtin]!])
    }
    print("GEMM GFLOP/s (\(GEMM.blasLibrary ?? "no BLAS found"))")
    print(TextTable.render(["shape", "m×n×k op", "blas", "builtin", "builtin/blas"], rows))
    print()
    return records
  }

  /// Forward+backward milliseconds of every layer at batch 100, active backend.
  func layerTable(budget: Double) -> [[String: Any]] {
    var rows: [[String]] = []
    var records: [[String: Any]] = []
    for kind in ModelKind.lenets {
      let rng = RandomSource(seed: 1)
      let model = Model(kind, rng: rng)
      var x = Tensor(shape: [100] + model.inputShape)
      for i in 0..<x.count { x[i] = rng.normal() }
      let context = ForwardContext(training: true, rng: rng)
      for (name, layer) in model.network.layers {
        let input = x
        let output = layer.forward(input, context: context)
        let dY = Tensor(shape: output.shape, repeating: 0.01)
        let forward = Bench.secondsPerCall(budget: budget / 2) { _ = layer.forward(input, context: context) }
        let both = Bench.secondsPerCall(budget: budget / 2) {
          _ = layer.forward(input, context: context)
          _ = layer.backward(dY)
        }
        rows.append([kind.rawValue, name, String(format: "%.3f", forward * 1e3), String(format: "%.3f", (both - forward) * 1e3), String(format: "%.3f", both * 1e3)])
        records.append(["model": kind.rawValue, "layer": name, "forward_ms": forward * 1e3, "forward_backward_ms": both * 1e3])
        x = output
      }
    }
    print("Layer time per batch of 100, ms (GEMM \(GEMM.backend.rawValue))")
    print(TextTable.render(["model", "layer", "forward", "backward", "fwd+bwd"], rows))
    print()
    return records
  }

  /// Training epoch seconds (batch 100, SGD) of both LeNets, one row per GEMM backend, and
  /// the cost of an AutoPrune pruning epoch (weight and unit gates) next to the dense one.
  func epochTable() throws -> [[String: Any]] {
    let (train, _, label) = try dataOptions.loadInMemory()
    let fraction = quick ? 0.1 : 1.0
    let subset = train.prefix(Int(Double(train.count) * fraction))
    let normalization = Normalization.fitted(to: train)
    var rows: [[String]] = []
    var records: [[String: Any]] = []
    let active = GEMM.backend
    defer { GEMM.backend = active }
    let peak = MachineLimits.gemmPeak(budget: quick ? 0.3 : 0.6)
    // Training FLOPs per image: the forward's multiply-adds, twice, times three (forward, input
    // gradient, weight gradient; the first layer has no input gradient, so this is a little high).
    func epochFLOPs(_ kind: ModelKind) -> Double {
      let model = Model(kind, rng: RandomSource(seed: 1))
      return 6 * Double(PruningReport(layers: PrunableLayer.discover(in: model)).flops) * Double(train.count)
    }
    func ofPeak(_ kind: ModelKind, _ seconds: Double) -> String { String(format: "%.0f%%", 100 * epochFLOPs(kind) / seconds / (peak * 1e9)) }
    func epochSeconds(_ kind: ModelKind, pruning granularity: Granularity?) throws -> Double {
      var config = TrainingConfig()
      config.epochs = 1
      let rng = RandomSource(seed: 1)
      let model = Model(kind, rng: rng)
      let pruning = granularity.map { AutoPrunePruning(model: model, granularity: $0, options: AutoPruneOptions()) }
      // The default phase clock, timed as `prune` runs it (a 10-epoch phase).
      pruning?.willStartPhase(steps: 10 * Batcher(count: subset.count, batchSize: config.batchSize).batchesPerEpoch)
      let trainer = Trainer(model: model, config: config, normalization: normalization, rng: rng)
      return try trainer.fit(train: subset, test: subset.prefix(100), afterBackward: pruning?.afterBackward)[0].seconds / fraction
    }
    // Warm-up: loads BLAS, starts the worker threads, faults in the allocator's pages.
    _ = try epochSeconds(.lenet300, pruning: nil)
    for kind in ModelKind.lenets {
      var dense: [GEMMBackend: Double] = [:]
      for backend in GEMM.availableBackends {
        GEMM.backend = backend
        dense[backend] = try epochSeconds(kind, pruning: nil)
        rows.append([kind.rawValue, "dense", backend.rawValue, String(format: quick ? "%.2f (est.)" : "%.2f", dense[backend]!), "1.00", ofPeak(kind, dense[backend]!)])
        records.append(["model": kind.rawValue, "phase": "dense", "gemm": backend.rawValue, "epoch_seconds": dense[backend]!, "estimated": quick,
                        "flops": epochFLOPs(kind), "gemm_peak_gflops": peak])
      }
      GEMM.backend = active
      for granularity in Granularity.allCases {
        let seconds = try epochSeconds(kind, pruning: granularity)
        let ratio = seconds / dense[active]!
        rows.append([kind.rawValue, "prune (\(granularity.rawValue))", active.rawValue, String(format: quick ? "%.2f (est.)" : "%.2f", seconds), String(format: "%.2f", ratio), ofPeak(kind, seconds)])
        records.append(["model": kind.rawValue, "phase": "prune-\(granularity.rawValue)", "gemm": active.rawValue, "epoch_seconds": seconds, "ratio_to_dense": ratio, "estimated": quick])
      }
    }
    print("Epoch time, \(subset.count) images of \(label), batch 100; FLOPs of a \(train.count)-image epoch per second as a share of")
    print("the built-in GEMM's 1024³ rate here (\(String(format: "%.0f", peak)) GFLOP/s)")
    print(TextTable.render(["model", "phase", "gemm", "seconds", "× dense", "% of GEMM peak"], rows))
    return records
  }

  /// A ResNet-20 training epoch (batch 128, SGD with momentum and weight decay, crop + flip) on
  /// the data padded to 32 × 32, timed on a share of the training set (a tenth; a fiftieth with
  /// --quick) and scaled to the whole: the figure `interop/compare_resnet20_torch.py` sets next
  /// to PyTorch's.
  func resnetEpoch() throws -> [String: Any] {
    let (loaded, _, label) = try dataOptions.loadInMemory()
    let train = loaded.height < 32 ? loaded.padded(to: 32) : loaded
    let fraction = quick ? 0.02 : 0.1
    let subset = train.prefix(max(256, Int(Double(train.count) * fraction)))
    var config = TrainingConfig()
    config.epochs = 1
    config.batchSize = 128
    config.learningRate = 0.1
    config.weightDecay = 5e-4
    config.augmentation = Augmentation()
    let rng = RandomSource(seed: 1)
    let model = Model(.resnet20, rng: rng, inputChannels: train.channels)
    let trainer = Trainer(model: model, config: config, normalization: Normalization.fitted(to: train), rng: rng)
    // One batch first: loads BLAS and starts the worker threads.
    _ = try Trainer(model: model, config: config, normalization: trainer.normalization, rng: rng).fit(train: subset.prefix(128), test: subset.prefix(1))
    let seconds = try trainer.fit(train: subset, test: subset.prefix(1))[0].seconds
    let epoch = seconds * Double(train.count) / Double(subset.count)
    print("ResNet-20 training, \(label) padded to 32×32, batch 128: \(String(format: "%.1f", seconds)) s for \(subset.count) images → \(String(format: "%.1f", epoch)) s per epoch of \(train.count)\n")
    return ["model": "resnet20", "images_timed": subset.count, "seconds": seconds, "epoch_seconds": epoch, "train_images": train.count, "batch": 128]
  }
}
