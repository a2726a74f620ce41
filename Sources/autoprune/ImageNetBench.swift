import AutoPrune
import AutoPruneKernels
import AutoPruneNN
import Foundation

/// The ImageNet networks' training speed: forward + backward + SGD step per image at a given
/// size and batch (the figure `interop/compare_imagenet_torch.py` sets next to PyTorch's), and,
/// given an image folder, training throughput decoding JPEG/PNG against the same batches held
/// in memory.
enum ImageNetBench {
  /// One row per network: seconds per training step on random images, per image.
  static func stepTable(size: Int, batch: Int, steps: Int) throws -> [[String: Any]] {
    var rows: [[String]] = []
    var records: [[String: Any]] = []
    for (kind, width) in [(ModelKind.resnet50, 1.0), (.mobilenetv2, 1.0), (.resnet18, 1.0)] {
      let rng = RandomSource(seed: 1)
      let model = Model(kind, rng: rng, width: width, inputSize: size)
      let images = Tensor(shape: [batch, 3, size, size], values: (0..<(batch * 3 * size * size)).map { _ in rng.uniform(-1, 1) })
      let labels = (0..<batch).map { $0 % 1000 }
      let trainer = Trainer(model: model, config: TrainingConfig(), normalization: Normalization(mean: 0, std: 1), rng: rng)
      try trainer.step(images: images, labels: labels)  // warm-up: buffers, threads, packing
      let start = DispatchTime.now().uptimeNanoseconds
      for _ in 0..<steps { try trainer.step(images: images, labels: labels) }
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(steps)
      let macs = model.network.multiplyAdds(for: model.inputShape)
      let rate = 3 * 2 * Double(macs) * Double(batch) / seconds / 1e9  // forward + two backward GEMMs
      rows.append([kind.rawValue, "\(size)", "\(batch)", String(format: "%.3f", seconds), String(format: "%.1f", 1000 * seconds / Double(batch)), String(format: "%.0f", rate)])
      records.append(["model": kind.rawValue, "input_size": size, "batch": batch, "step_seconds": seconds, "ms_per_image": 1000 * seconds / Double(batch), "gflops": rate])
    }
    print("ImageNet networks, one training step (forward, backward, SGD with momentum) on random images")
    print(TextTable.render(["model", "size", "batch", "s/step", "ms/image", "GFLOP/s (≈ 3 × forward)"], rows) + "\n")
    return records
  }

  /// MobileNetV2 trained on `batches` batches of an image folder, decoding on the fly (batches
  /// made ahead), against the same batches decoded beforehand and held as tensors.
  static func pipeline(_ train: ImageFolderDataset, batch: Int, batches: Int) throws -> [String: Any] {
    let rng = RandomSource(seed: 1)
    let model = Model(.mobilenetv2, rng: rng, inputSize: train.transform.size, classes: train.classes)
    var config = TrainingConfig()
    config.batchSize = batch
    let normalization = Normalization.fitted(to: try train.sample(limit: 500))
    let n = min(train.count, batch * batches)
    let indices = Array(0..<n)
    let chunks = stride(from: 0, to: n, by: batch).map { indices[$0..<min(n, $0 + batch)] }
    let trainer = Trainer(model: model, config: config, normalization: normalization, rng: rng)
    // In memory: every batch decoded first, then only the steps timed.
    let held = try chunks.enumerated().map { try train.batch($1, normalization: normalization, seed: UInt64($0)) }
    func timed(_ body: () throws -> Void) rethrows -> Double {
      let start = DispatchTime.now().uptimeNanoseconds
      try body()
      return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
    func fromMemory() throws { for b in held { try trainer.step(images: b.images, labels: b.labels) } }
    // From files: decoding overlapped with training as `fit` does it.
    func fromFolder() throws {
      let prefetcher = BatchPrefetcher(count: chunks.count, ahead: true) { k in try train.batch(chunks[k], normalization: normalization, seed: UInt64(k)) }
      for k in chunks.indices {
        let b = try prefetcher.batch(k)
        try trainer.step(images: b.images, labels: b.labels)
      }
    }
    // Alternated twice, the faster of each kept: the first pass also pays for first-touch
    // memory, whichever source it reads.
    var inMemory = Double.infinity, fromFiles = Double.infinity
    for _ in 0..<2 {
      inMemory = min(inMemory, try timed(fromMemory))
      fromFiles = min(fromFiles, try timed(fromFolder))
    }
    let decodeOnly = try timed { for (k, c) in chunks.enumerated() { _ = try train.batch(c, normalization: normalization, seed: UInt64(k)) } }
    print("Data pipeline: MobileNetV2 at \(train.transform.size)×\(train.transform.size), \(n) images in batches of \(batch)")
    print(TextTable.render(["source", "images/s", "seconds"], [
      ["tensors in memory", String(format: "%.1f", Double(n) / inMemory), String(format: "%.2f", inMemory)],
      ["image files (decoded ahead)", String(format: "%.1f", Double(n) / fromFiles), String(format: "%.2f", fromFiles)],
      ["decoding alone", String(format: "%.0f", Double(n) / decodeOnly), String(format: "%.2f", decodeOnly)],
    ]))
    print(String(format: "training from files runs at %.1f%% of in-memory throughput\n", 100 * inMemory / fromFiles))
    return ["images": n, "input_size": train.transform.size, "batch": batch, "in_memory_seconds": inMemory, "from_files_seconds": fromFiles, "decode_seconds": decodeOnly, "share": inMemory / fromFiles]
  }
}
