import Foundation

/// Mean softmax cross-entropy over a batch, with its gradient, like `nn.CrossEntropyLoss()`.
public enum SoftmaxCrossEntropy {
  /// Loss, `∂loss/∂logits` (`[N, classes]`) and the number of correct top-1 predictions.
  public static func evaluate(logits: Tensor, labels: [Int]) -> (loss: Float, dLogits: Tensor, correct: Int) {
    let n = labels.count
    // Logits are [N, classes] with one label per row, each label a column: anything else would
    // read or write outside the buffers below, so it stops here.
    let classes = logits.shape.count == 2 ? logits.shape[1] : logits.count / max(1, n)
    precondition(logits.shape.first == n && n * classes == logits.count && classes > 0, "logits \(logits.shape) for \(n) labels")
    precondition(labels.allSatisfy { (0..<classes).contains($0) }, "a label outside 0..<\(classes) (the network has \(classes) outputs)")
    var dLogits = Tensor(shape: [n, classes])
    var loss = 0.0
    var correct = 0
    logits.withPointer { lp in
      dLogits.withMutablePointer { dp in
        for i in 0..<n {
          let row = lp + i * classes
          var maxValue = row[0]
          var best = 0
          for j in 1..<classes where row[j] > maxValue {
            maxValue = row[j]
            best = j
          }
          if best == labels[i] { correct += 1 }
          // Subtract the max before exp: the usual guard against overflow.
          var sum: Float = 0
          for j in 0..<classes {
            let e = Foundation.exp(row[j] - maxValue)
            dp[i * classes + j] = e
            sum += e
          }
          loss += Double(Foundation.log(sum) + maxValue - row[labels[i]])
          let scale = 1 / (sum * Float(n))
          for j in 0..<classes { dp[i * classes + j] *= scale }
          dp[i * classes + labels[i]] -= 1 / Float(n)
        }
      }
    }
    return (Float(loss / Double(max(n, 1))), dLogits, correct)
  }
}
