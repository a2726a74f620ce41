/// Sums a layer's per-channel statistics over the processes of a data-parallel job, so that
/// BatchNorm normalises with the whole global batch's mean and variance (synchronised BatchNorm)
/// instead of each process's share.
public protocol StatisticsReducer: AnyObject {
  /// Sums `values` over every process, in place (the same result on each).
  func sum(_ values: inout [Double])
  /// This process's share of the current step's global batch (its samples over all samples):
  /// the weight that turns its gradients of its own mean loss into those of the global one.
  var share: Double { get }
}

extension Sequential {
  /// Every BatchNorm in the network, residual blocks' bodies and shortcuts included.
  public var batchNorms: [BatchNorm2D] {
    layers.flatMap { entry -> [BatchNorm2D] in
      switch entry.layer {
      case let bn as BatchNorm2D: return [bn]
      case let block as Residual: return block.body.batchNorms + (block.shortcut?.batchNorms ?? [])
      case let nested as Sequential: return nested.batchNorms
      default: return []
      }
    }
  }
}
