/// Branches applied to one input, their outputs joined along the channels (along the features
/// for flat inputs), like `torch.cat([branch(x) for branch in branches], dim=1)`: Inception
/// modules, SqueezeNet's fire modules, DenseNet's `cat([x, f(x)])` (an empty branch passes its
/// input through).
///
/// Shapes: every branch's output must agree after the channel axis; the output has the sum of
/// their channels, the first branch's first.
///
/// ```swift
/// let fire = Concatenation([("expand1x1", [("conv", Conv2D(16, 64, kernelSize: 1, rng: rng))]),
///                           ("expand3x3", [("conv", Conv2D(16, 64, kernelSize: 3, padding: 1, rng: rng))])])
/// ```
public final class Concatenation: Layer {
  /// The branches in output order, each named (the prefix of its layers' parameter names:
  /// `expand1x1.conv.weight`).
  public let branches: [(name: String, network: Sequential)]
  private var channelCounts: [Int] = []

  /// Branches of named layers; a branch with no layers is the identity.
  public init(_ branches: [(String, [(String, any Layer)])]) {
    precondition(!branches.isEmpty, "Concatenation needs at least one branch")
    self.branches = branches.map { name, layers in (name, Sequential(layers.map { ("\(name).\($0.0)", $0.1) })) }
  }

  public var parameters: [Parameter] { branches.flatMap { $0.network.parameters } }
  public var buffers: [Buffer] { branches.flatMap { $0.network.buffers } }

  /// Each branch's output shape for one sample of `inputShape`.
  public func branchShapes(for inputShape: [Int]) -> [[Int]] { branches.map { $0.network.outputShape(for: inputShape) } }

  public func outputShape(for inputShape: [Int]) -> [Int] {
    let shapes = branchShapes(for: inputShape)
    precondition(shapes.allSatisfy { $0.dropFirst() == shapes[0].dropFirst() }, "Concatenation: branch outputs \(shapes) differ after the channels")
    return [shapes.reduce(0) { $0 + $1[0] }] + shapes[0].dropFirst()
  }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    let outputs = branches.map { $0.network.forward(x, context: context) }
    let n = x.shape[0], rest = Array(outputs[0].shape.dropFirst(2))
    let plane = rest.reduce(1, *)
    channelCounts = outputs.map { $0.shape[1] }
    let total = channelCounts.reduce(0, +)
    var y = Tensor(shape: [n, total] + rest)
    y.withMutablePointer { yp in
      var offset = 0
      for (output, channels) in zip(outputs, channelCounts) {
        precondition(output.shape == [n, channels] + rest, "Concatenation: a branch gives \(output.shape), another \([n] + [channels] + rest)")
        let block = channels * plane
        output.withPointer { op in
          for s in 0..<n { (yp + s * total * plane + offset).update(from: op + s * block, count: block) }
        }
        offset += block
      }
    }
    return y
  }

  public func backward(_ dY: Tensor) -> Tensor {
    precondition(channelCounts.count == branches.count, "Concatenation.backward before a training forward")
    let n = dY.shape[0], rest = Array(dY.shape.dropFirst(2)), plane = rest.reduce(1, *)
    let total = channelCounts.reduce(0, +)
    var dX: Tensor?
    var offset = 0
    for ((_, branch), channels) in zip(branches, channelCounts) {
      let block = channels * plane
      var slice = Tensor(shape: [n, channels] + rest)
      slice.withMutablePointer { sp in
        dY.withPointer { dp in
          for s in 0..<n { (sp + s * block).update(from: dp + s * total * plane + offset, count: block) }
        }
      }
      offset += block
      let part = branch.backward(slice)
      if var sum = dX {
        let count = sum.count
        sum.withMutablePointer { xp in part.withPointer { pp in for i in 0..<count { xp[i] += pp[i] } } }
        dX = sum
      } else {
        dX = part
      }
    }
    return dX!
  }
}
