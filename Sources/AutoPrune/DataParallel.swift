import AutoPruneKernels
import AutoPruneNN

/// Horovod-style data parallelism over the ranks of an MPI job: every rank holds the whole
/// model, takes its share of each global batch, and the gradients are summed over the ranks
/// (one fused buffer per step, weighted so the sum is the gradient of the global batch's mean
/// loss) before any pruning method or optimizer sees them — so gates, masks and weights stay
/// identical on every rank. BatchNorm keeps per-rank batch statistics.
public struct DataParallel: Sendable {
  /// The job.
  public let world: MPI
  /// Synchronised BatchNorm (`--sync-batchnorm`): trainers made from now on normalise training
  /// batches with the whole global batch's statistics. Off by default (per-rank statistics, as
  /// Horovod and PyTorch's DDP do).
  public nonisolated(unsafe) static var synchronizesBatchNorm = false

  /// Data parallelism over `world` (nil for a job of one process: nothing to share).
  public init?(world: MPI?) {
    guard let world, world.size > 1 else { return nil }
    self.world = world
  }

  /// This rank's contiguous share of a global batch: the first `count % size` ranks take one
  /// sample more.
  public func shard(_ indices: ArraySlice<Int>) -> ArraySlice<Int> {
    let n = indices.count, size = world.size, rank = world.rank
    let start = indices.startIndex + rank * (n / size) + min(rank, n % size)
    let length = n / size + (rank < n % size ? 1 : 0)
    return indices[start..<(start + length)]
  }

  /// Sums every parameter's gradient over the ranks in one call, each rank's first scaled by
  /// its share of the global batch (`local / global`): the result is the gradient of the global
  /// batch's mean loss, what one process training on the whole batch computes.
  public func reduceGradients(_ parameters: [Parameter], local: Int, global: Int) {
    let total = parameters.reduce(0) { $0 + $1.count }
    var fused = [Float](repeating: 0, count: total)
    let weight = Float(local) / Float(max(1, global))
    var offset = 0
    for p in parameters {
      p.grad.withPointer { g in for i in 0..<p.count { fused[offset + i] = g[i] * weight } }
      offset += p.count
    }
    fused.withUnsafeMutableBufferPointer { world.sum($0.baseAddress!, count: total) }
    offset = 0
    for p in parameters {
      p.grad.withMutablePointer { g in for i in 0..<p.count { g[i] = fused[offset + i] } }
      offset += p.count
    }
  }

  /// Rank 0's values of `parameters` and `buffers` on every rank (at the start, and after a
  /// resume), in one call.
  public func broadcast(_ parameters: [Parameter], buffers: [Buffer]) {
    let tensors = parameters.map(\.value) + buffers.map(\.value)
    var fused = tensors.flatMap(\.storage)
    fused.withUnsafeMutableBufferPointer { world.broadcast($0.baseAddress!, count: $0.count) }
    var offset = 0
    for p in parameters {
      p.value = Tensor(shape: p.value.shape, values: Array(fused[offset..<(offset + p.count)]))
      offset += p.count
    }
    for b in buffers {
      b.value = Tensor(shape: b.value.shape, values: Array(fused[offset..<(offset + b.value.count)]))
      offset += b.value.count
    }
  }

  /// `values` summed over the ranks.
  public func sum(_ values: [Double]) -> [Double] {
    var out = values
    world.sum(&out)
    return out
  }

  /// Throws unless every rank holds the same `masks` (a checksum compared over the ranks): the
  /// methods see the same summed gradients, so a difference is a bug, never noise.
  public func checkIdentical(_ masks: [Tensor], what: String) throws {
    // FNV-1a over the bit patterns, folded to 20 bits so the sums below are exact in Double
    // (for up to 8,192 ranks).
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for mask in masks {
      for v in mask.storage {
        hash = (hash ^ UInt64(v.bitPattern)) &* 0x100_0000_01B3
      }
    }
    let c = Double((hash ^ (hash >> 20) ^ (hash >> 40)) & 0xF_FFFF)
    let sums = sum([c, c * c])
    // All equal ⇔ the checksums' variance over the ranks is zero: n·Σc² = (Σc)².
    if sums[1] * Double(world.size) != sums[0] * sums[0] {
      throw DataParallelError("the \(what) differ between MPI ranks (rank \(world.rank)'s checksum \(Int(c))): the ranks no longer train the same model")
    }
  }
}

/// A data-parallel run that went wrong across ranks.
public struct DataParallelError: Error, CustomStringConvertible {
  public let description: String
  init(_ description: String) { self.description = description }
}

/// The statistics reducer of synchronised BatchNorm: sums over the job's ranks, and this rank's
/// share of the step's global batch (set by the trainer before each forward).
public final class BatchNormSynchronizer: StatisticsReducer, @unchecked Sendable {
  let world: MPI
  /// This rank's share of the current step's global batch.
  public var share: Double = 1

  /// Sums over `world`.
  public init(world: MPI) { self.world = world }

  public func sum(_ values: inout [Double]) { world.sum(&values) }
}
