import AutoPrune
import AutoPruneKernels
import AutoPruneNN
import Foundation

/// `autoprune bench --only inference`: latency and throughput of a pruned model run dense (no
/// masks), masked, sparse (CSR; chains only) and thinned, at batch 1 and 256 (LeNets) or 1 and
/// 64 (the CIFAR networks), with the bytes each form stores and the kept FLOPs fraction.
enum InferenceBench {
  /// A pruned model to time: a file, or masks made here at a stated sparsity / architecture.
  struct Subject {
    let label: String
    let model: Model
  }

  /// Default subjects when no `--pruned` file is given: random-initialised LeNets with layer-wise
  /// magnitude masks at the compression AutoPrune reached (docs/pruning.md; global magnitude on
  /// random weights would empty fc1, whose initial weights are the smallest), and LeNets,
  /// ResNet-20 and VGG-like with whole units removed to the unit-pruned architectures it reached. Speed depends on shapes and sparsity,
  /// not on the values, so these time what the real pruned models would.
  static func defaultSubjects() -> [Subject] {
    var subjects: [Subject] = []
    for (kind, sparsity) in [(ModelKind.lenet300, Float(1 - 1 / 33.7)), (.lenet5, Float(1 - 1 / 87.6))] {
      let model = Model(kind, rng: RandomSource(seed: 1))
      MagnitudePruning(model: model).prune(toSparsity: sparsity, scope: .layerwise)
      subjects.append(Subject(label: "\(kind.rawValue) weight \(String(format: "%.1f", 1 / (1 - sparsity)))× (magnitude masks)", model: model))
    }
    for (kind, units) in [(ModelKind.lenet300, ["fc1": 213, "fc2": 80]), (.lenet5, ["conv1": 11, "conv2": 23, "fc1": 167])] {
      let model = Model(kind, rng: RandomSource(seed: 1))
      removeUnits(of: model, keeping: units)
      let shape = PrunableLayer.discover(in: model).map { units[$0.name].map(String.init) ?? String($0.rows) }.joined(separator: "-")
      subjects.append(Subject(label: "\(kind.rawValue) unit \(shape) (units removed)", model: model))
    }
    // ResNet-20 on one-channel 32 × 32 images with the block filters AutoPrune kept on
    // Fashion-MNIST-32 (recipes/resnet20-fmnist32-autoprune-unit.yaml, docs/pruning.md: 35.9% FLOPs).
    let resnet = Model(.resnet20, rng: RandomSource(seed: 1), inputChannels: 1)
    let kept = [2, 1, 7, 16, 13, 16, 22, 30, 22]
    let blocks = (1...3).flatMap { stage in (0..<3).map { "layer\(stage).\($0).conv1" } }
    removeUnits(of: resnet, keeping: Dictionary(uniqueKeysWithValues: zip(blocks, kept)))
    subjects.append(Subject(label: "resnet20 unit, block conv1s \(kept.map(String.init).joined(separator: "-")) (filters removed)", model: resnet))
    // VGG-like at width 0.25 with the filters AutoPrune kept on Fashion-MNIST-32 (recipes/
    // vgg-like-0.25-fmnist32-autoprune-unit.yaml: 50.0% FLOPs).
    let vgg = Model(.vggLike, rng: RandomSource(seed: 1), inputChannels: 1, width: 0.25)
    let vggKept = [16, 16, 10, 13, 31, 33, 33, 95, 106, 112, 122, 123, 116, 125]
    let vggLayers = (1...13).map { "conv\($0)" } + ["fc1"]
    removeUnits(of: vgg, keeping: Dictionary(uniqueKeysWithValues: zip(vggLayers, vggKept)))
    subjects.append(Subject(label: "vgg-like 0.25 unit (filters removed)", model: vgg))
    return subjects
  }

  /// Masks every unit (row) of the named prunable layers past the first `keeping[name]`.
  static func removeUnits(of model: Model, keeping units: [String: Int]) {
    for gate in MagnitudePruning(model: model).gates {
      guard let keep = units[gate.layer.name] else { continue }
      let layer = gate.layer
      var mask = Tensor(shape: layer.weight.shape, repeating: 1), bias = Tensor(shape: layer.bias.shape, repeating: 1)
      for r in keep..<layer.rows {
        bias[r] = 0
        for c in 0..<layer.columns { mask[r * layer.columns + c] = 0 }
      }
      gate.setMask(mask)
      gate.setBiasMask(bias)
    }
  }

  /// The same network without gates (a built-in one, or one rebuilt from its architecture: an
  /// imported model), holding `model`'s raw weights.
  static func denseCopy(of model: Model) throws -> Model {
    guard let kind = model.kind else {
      let network = try NetworkArchitecture(describing: model.network).build(rng: RandomSource(seed: 1))
      return Model(network: network, inputShape: model.inputShape, name: model.name)
    }
    return Model(
      kind, rng: RandomSource(seed: 1), inputChannels: model.inputShape[0], width: model.width,
      inputSize: kind.takesAnySize ? model.inputShape[1] : nil, classes: model.classes)
  }

  /// Interleaved timing rounds per batch size (odd, for a plain median).
  static let rounds = 5

  static func table(subjects: [Subject], budget: Double) throws -> [[String: Any]] {
    var rows: [[String]] = []
    var records: [[String: Any]] = []
    for subject in subjects {
      let model = subject.model
      let dense = try denseCopy(of: model)
      for (p, q) in zip(dense.parameters, model.parameters) { p.value = q.value }
      for (b, c) in zip(dense.buffers, model.buffers) { b.value = c.value }
      let thinned = try? Thinning.thin(model)
      let report = PruningReport(layers: PrunableLayer.discover(in: model))
      let peak = MachineLimits.gemmPeak(budget: budget)
      // Each form: its run, the bytes it stores, and the bytes and multiply-adds per image one
      // forward reads and does (the masked form runs on its effective weights: dense work).
      var forms: [(String, (Tensor) -> Tensor, Int, (bytes: Int, macs: Int))] = [
        ("dense", { dense.network.forward($0, context: .inference) }, fileBytes(dense.parameters), (fileBytes(dense.parameters), report.flops)),
        ("masked", { model.network.forward($0, context: .inference) }, fileBytes(model.parameters) + 4 * report.weights,
         (fileBytes(dense.parameters), report.flops)),
      ]
      // Residual blocks would run dense inside a sparse network: no sparse form for them.
      if model.isChain {
        let sparse = SparseNetwork(model)
        let bytes = sparseBytes(model, sparse)
        forms.append(("sparse", sparse.forward, bytes, (bytes, report.keptFLOPs)))
      }
      if let thinned, thinned.parameterCount < model.parameterCount {
        let work = PruningReport(layers: PrunableLayer.discover(in: thinned.network, inputShape: thinned.inputShape)).flops
        let bytes = fileBytes(thinned.network.parameters)
        forms.append(("thinned \(thinned.architecture)", { thinned.network.forward($0, context: .inference) }, bytes, (bytes, work)))
      }
      let large = model.kind.map { ModelKind.lenets.contains($0) ? 256 : $0.takesAnySize ? 32 : 64 } ?? (model.inputShape.reduce(1, *) >= 3 * 64 * 64 ? 32 : 64)
      for batch in [1, large] {
        let rng = RandomSource(seed: 2)
        let count = batch * model.inputShape.reduce(1, *)
        let x = Tensor(shape: [batch] + model.inputShape, values: (0..<count).map { _ in rng.uniform(-1, 1) })
        // The forms take turns, a share of the budget each per round, and each keeps the median
        // of its rounds: on a shared virtual machine whose speed drifts by 10–30% over seconds,
        // back-to-back timings would put dense and thinned in different weather.
        var rounds = [[Double]](repeating: [], count: forms.count)
        for _ in 0..<Self.rounds {
          for (f, form) in forms.enumerated() { rounds[f].append(Bench.secondsPerCall(budget: budget / Double(Self.rounds)) { _ = form.1(x) }) }
        }
        let latencies = rounds.map { $0.sorted()[$0.count / 2] }
        for ((form, _, bytes, work), seconds) in zip(forms, latencies) {
          let speedup = latencies[0] / seconds
          // The least time the form can take here: reading what it stores at the measured
          // rate for a buffer that size, or its multiply-adds at the GEMM peak, whichever is longer.
          let flops = 2 * Double(batch) * Double(work.macs)
          let bound = max(Double(work.bytes) / (MachineLimits.readBandwidth(bytes: work.bytes, budget: budget / 10) * 1e9), flops / (peak * 1e9))
          rows.append([subject.label, form, "\(batch)", String(format: "%.1f", seconds * 1e6), String(format: "%.0f", Double(batch) / seconds),
                       String(format: "%.2f", speedup), String(format: "%.1f", Double(bytes) / 1024),
                       form == "dense" ? "100" : String(format: "%.1f", 100 * report.flopsFraction),
                       String(format: "%.1f", bound * 1e6), String(format: "%.1f", seconds / bound)])
          records.append([
            "model": subject.label, "form": form, "batch": batch, "latency_us": seconds * 1e6, "images_per_second": Double(batch) / seconds,
            "speedup": speedup, "kib": Double(bytes) / 1024, "flops_fraction": report.flopsFraction,
            "bound_us": bound * 1e6, "times_bound": seconds / bound,
          ])
        }
      }
    }
    print("Inference, dense vs masked vs sparse (CSR) vs thinned (speed-up over dense at the same batch; bound: the")
    print("bytes stored read at this machine's rate for that size, or the FLOPs at its GEMM peak, whichever is longer)")
    print(TextTable.render(["model", "form", "batch", "µs/batch", "images/s", "× dense", "KiB stored", "FLOPs %", "bound µs", "× bound"], rows))
    return records
  }

  /// Bytes of a safetensors file holding `parameters` (header aside).
  static func fileBytes(_ parameters: [Parameter]) -> Int { parameters.reduce(0) { $0 + 4 * $1.count } }

  /// CSR storage: a value and a column index per non-zero, a row start per row, plus the biases.
  static func sparseBytes(_ model: Model, _ sparse: SparseNetwork) -> Int {
    let layers = PrunableLayer.discover(in: model)
    return 8 * sparse.nonZeros + layers.reduce(0) { $0 + 4 * ($1.rows + 1) + 4 * $1.bias.count }
  }
}
