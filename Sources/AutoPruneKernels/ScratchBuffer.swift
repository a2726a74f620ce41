/// A zero-filled float buffer owned by one thread of a kernel, freed when it goes out of scope.
///
/// Kernels that need per-thread scratch inside `Parallel.forEach` allocate one of these instead
/// of pairing `allocate` with a `defer { deallocate() }` for each buffer.
public final class ScratchBuffer {
  /// Start of the buffer; valid only while the buffer is alive, so keep the buffer in scope
  /// while the pointer is used. At least one float is allocated even for a count of 0.
  public let pointer: UnsafeMutablePointer<Float>
  /// Floats usable at `pointer`, as asked for in `init(zeroed:)`.
  public let count: Int

  /// Allocates `count` floats set to zero.
  public init(zeroed count: Int) {
    self.count = count
    pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count))
    pointer.initialize(repeating: 0, count: max(1, count))
  }

  deinit { pointer.deallocate() }
}
