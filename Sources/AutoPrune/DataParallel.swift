import AutoPruneKernels
import AutoPruneNN

/// Horovod-style data parallelism over the ranks of an MPI job: every rank holds the whole
/// model, takes its share of each global batch, and the gradients are summed over the ranks
/// (in fused buckets started during the backward pass, weighted so the sum is the gradient of
/// the global batch's mean loss) before any pruning method or optimizer sees them — so gates, masks and weights stay
/// identical on every rank. BatchNorm keeps per-rank batch statistics unless
/// `synchronizesBatchNorm`.
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
    let bytes = DataParallel.bucketBytes
    buckets = GradientBuckets(world: world, capacity: bytes > 0 ? max(1, bytes / MemoryLayout<Float>.size) : Int.max)
  }

  /// This rank's contiguous share of a global batch: the first `count % size` ranks take one
  /// sample more.
  public func shard(_ indices: ArraySlice<Int>) -> ArraySlice<Int> {
    let n = indices.count, size = world.size, rank = world.rank
    let start = indices.startIndex + rank * (n / size) + min(rank, n % size)
    let length = n / size + (rank < n % size ? 1 : 0)
    return indices[start..<(start + length)]
  }

  /// Values summed per allreduce bucket (`--allreduce-bucket-mb`); 0: one bucket, started
  /// once the whole backward pass is done. Read when a `DataParallel` is made.
  public nonisolated(unsafe) static var bucketBytes = 4 << 20

  /// Sums the gradients over the ranks in buckets started during the backward pass.
  let buckets: GradientBuckets

  /// Starts a step whose gradients are this rank's share `local` of a global batch of `global`:
  /// each rank's are scaled by `local / global` before the sum, so the result is the gradient
  /// of the global batch's mean loss, what one process training on the whole batch computes.
  public func beginGradients(local: Int, global: Int) { buckets.begin(local: local, global: global) }

  /// `parameters`' gradients are complete (the backward pass is done with their layer): their
  /// bucket starts summing once full, while the pass goes on.
  public func gradientsFinished(_ parameters: [Parameter]) { buckets.finished(parameters) }

  /// Ends the step's sums: hands over what of `parameters` (every trained parameter, in the
  /// network's order reversed) was not yet, waits for every bucket and writes the sums back.
  public func finishGradients(_ parameters: [Parameter]) { buckets.finish(all: parameters) }

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
    var hash = Checksum()
    for mask in masks { for v in mask.storage { hash.add(UInt64(v.bitPattern)) } }
    try checkIdentical(hash, what: what)
  }

  /// Throws unless every rank drew the same epoch `order`: each rank takes its share of the
  /// same batches only while the shared random stream (shuffling, stochastic gates) stays in
  /// step, which a rank drawing more from it (augmentation of a larger share) would break.
  public func checkIdentical(order: [Int]) throws {
    var hash = Checksum()
    for i in order { hash.add(UInt64(bitPattern: Int64(i))) }
    try checkIdentical(hash, what: "shuffled training orders")
  }

  private func checkIdentical(_ hash: Checksum, what: String) throws {
    let c = hash.folded
    let sums = sum([c, c * c])
    // All equal ⇔ the checksums' variance over the ranks is zero: n·Σc² = (Σc)².
    if sums[1] * Double(world.size) != sums[0] * sums[0] {
      throw DataParallelError("the \(what) differ between MPI ranks (rank \(world.rank)'s checksum \(Int(c))): the ranks no longer train the same model")
    }
  }

  /// FNV-1a over 64-bit words, folded to 20 bits so the sums over the ranks above are exact in
  /// Double (for up to 8,192 ranks).
  private struct Checksum {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    mutating func add(_ word: UInt64) { hash = (hash ^ word) &* 0x100_0000_01B3 }
    var folded: Double { Double((hash ^ (hash >> 20) ^ (hash >> 40)) & 0xF_FFFF) }
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
