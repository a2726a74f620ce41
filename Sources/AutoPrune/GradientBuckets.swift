import AutoPruneKernels
import AutoPruneNN

/// Gradients summed over an MPI job in buckets of about `capacity` values, each started as soon
/// as the backward pass has finished the gradients it holds, so the sums of the last layers run
/// while the first layers' backward is still computing (Horovod's tensor fusion, PyTorch DDP's
/// buckets). Each rank's gradients are scaled by its share of the global batch first, so the
/// result is the gradient of the global batch's mean loss.
///
/// Every rank must start the same sums in the same order: a bucket is closed when the values
/// added since the last one reach `capacity`, counted parameter by parameter, so its bounds
/// depend only on the order parameters are handed over (the network's layers, last first) and
/// not on how the calls group them (a rank whose share of a batch is empty hands them over all
/// at once).
final class GradientBuckets: @unchecked Sendable {  // used by the main thread alone (MPI is FUNNELED)
  let world: MPI
  /// Values per bucket; `Int.max`: one bucket, started after the whole backward pass.
  let capacity: Int

  private struct Bucket {
    var parameters: [Parameter]
    var buffer: Int  // index in `buffers`
    var sum: MPI.PendingSum
  }

  /// Buffers reused from step to step (the same buckets every step).
  private var buffers: [UnsafeMutableBufferPointer<Float>] = []
  private var open: [Parameter] = [], openCount = 0
  private var started: [Bucket] = []
  private var handedOver = Set<ObjectIdentifier>()
  private var weight: Float = 1

  init(world: MPI, capacity: Int) {
    self.world = world
    self.capacity = max(1, capacity)
  }

  deinit { for buffer in buffers { buffer.deallocate() } }

  /// Starts a step whose gradients are this rank's share `local` of a global batch of `global`.
  func begin(local: Int, global: Int) {
    precondition(started.isEmpty && open.isEmpty, "a step's gradient sums were not finished")
    weight = Float(local) / Float(max(1, global))
    handedOver.removeAll(keepingCapacity: true)
  }

  /// `parameters`' gradients are complete for this step: bucket them, start each full bucket,
  /// and let MPI move the started ones on.
  func finished(_ parameters: [Parameter]) {
    for p in parameters where handedOver.insert(ObjectIdentifier(p)).inserted {
      open.append(p)
      openCount += p.count
      if openCount >= capacity { startOpenBucket() }
    }
    for i in started.indices { world.poll(&started[i].sum) }
  }

  /// Hands over whatever of `all` was not handed over yet (in the order given), starts the last
  /// bucket, waits for every sum and writes the summed gradients back.
  func finish(all: [Parameter]) {
    finished(all)
    if !open.isEmpty { startOpenBucket() }
    for i in started.indices {
      world.wait(&started[i].sum)
      let buffer = buffers[started[i].buffer]
      var offset = 0
      for p in started[i].parameters {
        p.grad.withMutablePointer { g in for j in 0..<p.count { g[j] = buffer[offset + j] } }
        offset += p.count
      }
    }
    started.removeAll(keepingCapacity: true)
  }

  private func startOpenBucket() {
    let index = started.count
    if index == buffers.count || buffers[index].count < openCount {
      let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: openCount)
      if index == buffers.count { buffers.append(buffer) } else {
        buffers[index].deallocate()
        buffers[index] = buffer
      }
    }
    let buffer = buffers[index]
    var offset = 0
    for p in open {
      p.grad.withPointer { g in for j in 0..<p.count { buffer[offset + j] = g[j] * weight } }
      offset += p.count
    }
    let sum = world.startSum(buffer.baseAddress!, count: openCount)
    started.append(Bucket(parameters: open, buffer: index, sum: sum))
    open.removeAll(keepingCapacity: true)
    openCount = 0
  }
}
