import AutoPruneKernels
import AutoPruneNN

/// Inference with weight-pruned layers stored sparse: every Dense and Conv2D of a model becomes a
/// CSR matrix of its kept weights (masked, of alive units on alive inputs: `ChannelGraph`), multiplied by the `SparseMatrix` kernel; the other
/// layers run as they are. Output equals the masked model's up to float summation order.
public final class SparseNetwork {
  private enum Step {
    /// A Dense layer, as CSR rows for batches and as sorted slices for one sample; `relu` when the ReLU
    /// that followed it is folded in.
    case dense(SparseMatrix, SlicedSparseMatrix, bias: [Float], relu: Bool)
    case conv(SparseMatrix, bias: [Float], kernel: Int, stride: Int, padding: Int)
    case layer(any Layer)
  }

  private let steps: [Step]
  /// `[channels, height, width]` of one sample, as the model takes it.
  public let inputShape: [Int]
  /// Stored non-zero weights over all layers.
  public let nonZeros: Int

  /// The sparse form of `model` under its current masks. Only the top-level chain is converted:
  /// a residual block would run dense as it is (`InferenceForm.sparse` refuses such models).
  public init(_ model: Model) {
    inputShape = model.inputShape
    var steps: [Step] = []
    var nonZeros = 0
    let layers = model.network.layers.map(\.1)
    // The weights stored are the ones the channel graph keeps (those `PruningReport` counts):
    // a dead unit's row and the columns of dead inputs add nothing to the output.
    let graph = ChannelGraph(model: model), liveness = graph.liveness()
    func kept(_ weight: Parameter) -> [Float] {
      var w = weight.effective.storage
      guard let j = graph.layers.firstIndex(where: { $0.weight === weight }) else { return w }
      let layer = graph.layers[j]
      for r in 0..<layer.rows {
        for c in 0..<layer.columns where !liveness.unitAlive(j, r) || !liveness.inputAlive(j, feature: layer.input(row: r, column: c)) {
          w[r * layer.columns + c] = 0
        }
      }
      return w
    }
    var i = 0
    while i < layers.count {
      let layer = layers[i]
      i += 1
      if let dense = layer as? Dense {
        let w = kept(dense.weight)
        let matrix = w.withUnsafeBufferPointer { SparseMatrix(dense: $0, rows: dense.outputSize, columns: dense.inputSize) }
        let slices = w.withUnsafeBufferPointer { SlicedSparseMatrix(dense: $0, rows: dense.outputSize, columns: dense.inputSize) }
        let relu = i < layers.count && layers[i] is ReLU
        if relu { i += 1 }
        nonZeros += matrix.nonZeros
        steps.append(.dense(matrix, slices, bias: dense.bias.effective.storage, relu: relu))
      } else if let conv = layer as? Conv2D {
        let w = kept(conv.weight)
        let k = conv.kernelSize
        let matrix = w.withUnsafeBufferPointer { SparseMatrix(dense: $0, rows: conv.outputChannels, columns: conv.inputChannels * k * k) }
        nonZeros += matrix.nonZeros
        steps.append(.conv(matrix, bias: conv.bias.effective.storage, kernel: k, stride: conv.stride, padding: conv.padding))
      } else {
        steps.append(.layer(layer))
      }
    }
    self.steps = steps
    self.nonZeros = nonZeros
  }

  /// Runs the network. Between consecutive dense layers (and the ReLUs between them) a batch
  /// stays feature-major, `[features, N]`, so each stored weight scales one contiguous row and the
  /// batch is transposed once on the way in and once on the way out, not at every layer.
  public func forward(_ input: Tensor) -> Tensor {
    var x = input
    var featureMajor = false
    let n = input.shape[0]
    func sampleMajor() {
      if featureMajor {
        x = SparseNetwork.transpose(x, rows: x.shape[0], columns: n)
        featureMajor = false
      }
    }
    for step in steps {
      switch step {
      case .layer(let layer):
        if layer is ReLU {
          x = layer.forward(x, context: .inference)  // elementwise: either layout
        } else {
          sampleMajor()
          x = layer.forward(x, context: .inference)
        }
      case .dense(let w, let slices, let bias, let relu):
        if n == 1 {
          x = SparseNetwork.denseOne(x, slices, bias, relu: relu)
          continue
        }
        if n > 1 && !featureMajor {
          x = SparseNetwork.transpose(x.reshaped([n, x.count / n]), rows: n, columns: x.count / n)
          featureMajor = true
        }
        x = SparseNetwork.dense(x, w, bias, batch: n)
        if relu { x.storage.withUnsafeMutableBufferPointer { v in for i in v.indices { v[i] = max(0, v[i]) } } }
      case .conv(let w, let bias, let k, let stride, let padding):
        sampleMajor()
        x = SparseNetwork.conv(x, w, bias, k, stride, padding)
      }
    }
    sampleMajor()
    return x
  }

  /// `[1, in] → [1, out]` slice by slice.
  private static func denseOne(_ x: Tensor, _ w: SlicedSparseMatrix, _ bias: [Float], relu: Bool) -> Tensor {
    precondition(x.count == w.columnCount, "sparse dense layer expects \(w.columnCount) features, got \(x.shape)")
    return bias.withUnsafeBufferPointer { b in
      x.withUnsafeBufferPointer { xb in
        Tensor(shape: [1, w.rows]) { out in w.multiplyVector(xb.baseAddress!, bias: b.baseAddress!, relu: relu, into: out.baseAddress!) }
      }
    }
  }

  /// `[in, N] → [out, N]` (feature-major; for one sample the same as `[1, in] → [1, out]`).
  private static func dense(_ x: Tensor, _ w: SparseMatrix, _ bias: [Float], batch n: Int) -> Tensor {
    let inputs = w.columnCount, outputs = w.rows
    precondition(x.count == n * inputs, "sparse dense layer expects \(inputs) features, got \(x.shape)")
    return bias.withUnsafeBufferPointer { b in
      x.withUnsafeBufferPointer { xb in
        Tensor(shape: n == 1 ? [1, outputs] : [outputs, n]) { out in
          w.multiply(xb.baseAddress!, columns: n, bias: b.baseAddress!, into: out.baseAddress!)
        }
      }
    }
  }

  /// `[rows, columns] → [columns, rows]` in 32 × 32 tiles (a plain strided loop misses the cache
  /// on every other access), bands of tiles on separate threads.
  static func transpose(_ x: Tensor, rows: Int, columns: Int) -> Tensor {
    x.withUnsafeBufferPointer { source in
      Tensor(shape: [columns, rows]) { destination in
        let tile = 32
        let src = SharedPointer(UnsafeMutablePointer(mutating: source.baseAddress!)), dst = SharedPointer(destination.baseAddress!)
        let bands = (rows + tile - 1) / tile
        Parallel.forRanges(bands, minPerThread: max(1, 16_384 / (tile * max(1, columns)))) { range in
          for band in range {
            let r0 = band * tile
            for c0 in stride(from: 0, to: columns, by: tile) {
              for r in r0..<min(r0 + tile, rows) {
                for c in c0..<min(c0 + tile, columns) { dst[c * rows + r] = src[r * columns + c] }
              }
            }
          }
        }
      }
    }
  }

  /// `[N, C, H, W] → [N, outC, H', W']` by im2col and the sparse product, a few samples at a time.
  private static func conv(_ x: Tensor, _ w: SparseMatrix, _ bias: [Float], _ k: Int, _ stride: Int, _ padding: Int) -> Tensor {
    let n = x.shape[0], channels = x.shape[1], height = x.shape[2], width = x.shape[3]
    let g = ConvGeometry(channels: channels, height: height, width: width, kernelHeight: k, kernelWidth: k, stride: stride, padding: padding)
    precondition(g.patchSize == w.columnCount, "sparse conv expects \(w.columnCount / (k * k)) channels, got \(channels)")
    let positions = g.outputPositions, outputs = w.rows
    // Keep the lowered block near 1 M floats so it stays in cache.
    let chunk = max(1, min(n, 1_048_576 / max(1, g.patchSize * positions)))
    var cols = [Float](repeating: 0, count: g.patchSize * chunk * positions)
    var product = [Float](repeating: 0, count: outputs * chunk * positions)
    return bias.withUnsafeBufferPointer { b in
      x.withUnsafeBufferPointer { xb in
        Tensor(shape: [n, outputs, g.outputHeight, g.outputWidth]) { out in
          var start = 0
          while start < n {
            let count = min(chunk, n - start)
            let span = count * positions
            cols.withUnsafeMutableBufferPointer { c in
              Im2Col.lower(xb.baseAddress! + start * channels * height * width, batch: count, geometry: g, into: c.baseAddress!)
            }
            cols.withUnsafeBufferPointer { c in w.multiply(c.baseAddress!, columns: span, bias: b.baseAddress!, into: &product) }
            // [outC, count·P] → [count, outC, P]
            for s in 0..<count {
              for o in 0..<outputs {
                let src = o * span + s * positions, dst = ((start + s) * outputs + o) * positions
                for p in 0..<positions { out[dst + p] = product[src + p] }
              }
            }
            start += count
          }
        }
      }
    }
  }
}
