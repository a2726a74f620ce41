import AutoPruneKernels
import AutoPruneNN

/// Inference with weight-pruned layers stored sparse: every Dense and Conv2D of a model becomes a
/// CSR matrix of its effective (masked) weights, multiplied by the `SparseMatrix` kernel; the other
/// layers run as they are. Output equals the masked model's up to float summation order.
public final class SparseNetwork {
  private enum Step {
    case dense(SparseMatrix, bias: [Float])
    case conv(SparseMatrix, bias: [Float], kernel: Int, stride: Int, padding: Int)
    case layer(any Layer)
  }

  private let steps: [Step]
  public let inputShape: [Int]
  /// Stored non-zero weights over all layers.
  public let nonZeros: Int

  public init(_ model: Model) {
    inputShape = model.inputShape
    var steps: [Step] = []
    var nonZeros = 0
    for (_, layer) in model.network.layers {
      if let dense = layer as? Dense {
        let w = dense.weight.effective
        let matrix = w.withUnsafeBufferPointer { SparseMatrix(dense: $0, rows: dense.outputSize, columns: dense.inputSize) }
        nonZeros += matrix.nonZeros
        steps.append(.dense(matrix, bias: dense.bias.effective.storage))
      } else if let conv = layer as? Conv2D {
        let w = conv.weight.effective
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

  public func forward(_ input: Tensor) -> Tensor {
    var x = input
    for step in steps {
      switch step {
      case .layer(let layer): x = layer.forward(x, context: .inference)
      case .dense(let w, let bias): x = SparseNetwork.dense(x, w, bias)
      case .conv(let w, let bias, let k, let stride, let padding): x = SparseNetwork.conv(x, w, bias, k, stride, padding)
      }
    }
    return x
  }

  /// `[N, in] → [N, out]`; a batch is transposed so each weight scales one contiguous row.
  private static func dense(_ x: Tensor, _ w: SparseMatrix, _ bias: [Float]) -> Tensor {
    let n = x.shape[0], inputs = w.columnCount, outputs = w.rows
    precondition(x.count == n * inputs, "sparse dense layer expects [N, \(inputs)], got \(x.shape)")
    return bias.withUnsafeBufferPointer { b in
      x.withUnsafeBufferPointer { xb in
        if n == 1 {
          return Tensor(shape: [1, outputs]) { out in w.multiply(xb.baseAddress!, columns: 1, bias: b.baseAddress!, into: out.baseAddress!) }
        }
        var xt = [Float](repeating: 0, count: inputs * n)
        var yt = [Float](repeating: 0, count: outputs * n)
        for s in 0..<n { for i in 0..<inputs { xt[i * n + s] = xb[s * inputs + i] } }
        xt.withUnsafeBufferPointer { w.multiply($0.baseAddress!, columns: n, bias: b.baseAddress!, into: &yt) }
        return Tensor(shape: [n, outputs]) { out in
          for o in 0..<outputs { for s in 0..<n { out[s * outputs + o] = yt[o * n + s] } }
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
