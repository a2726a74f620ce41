/// A zero-filled float buffer owned by one thread of a kernel, freed when it goes out of scope.
///
/// Kernels that need per-thread scratch inside `Parallel.forEach` allocate one of these instead
/// of pairing `allocate` with a `defer { deallocate() }` for each buffer.
public final class ScratchBuffer {
  public let pointer: UnsafeMutablePointer<Float>
  public let count: Int

  public init(zeroed count: Int) {
    self.count = count
    pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count))
    pointer.initialize(repeating: 0, count: max(1, count))
  }

  deinit { pointer.deallocate() }
}
