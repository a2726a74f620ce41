#if canImport(Glibc)
  import Glibc
#endif

/// Allocator settings for training loops that allocate and free the same large buffers
/// (im2col columns, activations) every step.
package enum MemoryTuning {
  /// Keeps freed blocks in the heap instead of returning them to the kernel.
  ///
  /// glibc serves blocks above its mmap threshold with fresh `mmap`s and unmaps them on free,
  /// so every step page-faults its buffers in again: measured on LeNet-5 training, a third of
  /// the epoch was kernel time. Raising the thresholds makes those blocks reusable.
  /// (`mallopt` is looked up at run time: Swift's Glibc module does not export `malloc.h`.)
  package static func keepFreedMemory() {
    #if canImport(Glibc)
      typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
      guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
      let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
      let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3  // from <malloc.h>
      _ = mallopt(mmapThreshold, 512 << 20)
      _ = mallopt(trimThreshold, 1 << 30)
    #endif
  }
}
