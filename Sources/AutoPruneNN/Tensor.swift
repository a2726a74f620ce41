/// A contiguous row-major Float32 array with a shape; value semantics (copy-on-write).
///
/// ```swift
/// var x = Tensor(shape: [2, 3])          // zeros
/// x[0] = 1                               // flat index
/// let y = Tensor(shape: [3], values: [1, 2, 3])
/// ```
public struct Tensor: Equatable, Sendable {
  /// Dimensions, batch first where there is one; changed only through `reshape`, so it always
  /// matches the element count.
  public private(set) var shape: [Int]
  /// The elements in row-major order. Writable for speed: keep its count equal to the product of
  /// `shape`, which nothing checks.
  public var storage: [Float]

  /// A zero-filled tensor.
  public init(shape: [Int]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
    self.shape = shape
    storage = [Float](repeating: 0, count: shape.reduce(1, *))
  }

  /// A tensor over `values` (count must equal the shape's product).
  public init(shape: [Int], values: [Float]) {
    precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
    self.shape = shape
    storage = values
  }

  /// A tensor filled with `value`.
  public init(shape: [Int], repeating value: Float) {
    self.shape = shape
    storage = [Float](repeating: value, count: shape.reduce(1, *))
  }

  /// A tensor whose every element `fill` writes (no zero-fill first: for outputs a kernel
  /// overwrites completely).
  public init(shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) -> Void) {
    self.shape = shape
    let n = shape.reduce(1, *)
    storage = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
      fill(buffer)
      initialized = n
    }
  }

  /// Elements: the product of `shape`.
  public var count: Int { storage.count }

  /// The element at flat row-major index `i`.
  @inlinable public subscript(i: Int) -> Float {
    get { storage[i] }
    set { storage[i] = newValue }
  }

  /// Same data, new shape of the same element count.
  public func reshaped(_ newShape: [Int]) -> Tensor {
    Tensor(shape: newShape, values: storage)
  }

  /// `reshaped(_:)` in place; traps when the element count would change.
  public mutating func reshape(_ newShape: [Int]) {
    precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
    shape = newShape
  }

  /// Read access to the elements without copying (valid only inside `body`).
  @inlinable public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
    try storage.withUnsafeBufferPointer(body)
  }

  /// Write access to the elements (valid only inside `body`); copies them first when shared.
  @inlinable public mutating func withUnsafeMutableBufferPointer<R>(
    _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R
  ) rethrows -> R {
    try storage.withUnsafeMutableBufferPointer(body)
  }

  /// Pointer to the first element, for kernels (valid only inside `body`).
  @inlinable public func withPointer<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
    try storage.withUnsafeBufferPointer { try body($0.baseAddress!) }
  }

  /// Mutable pointer to the first element, for kernels (valid only inside `body`); copies the
  /// elements first when shared.
  @inlinable public mutating func withMutablePointer<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
    try storage.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
  }

  /// Multiplies element by element with `other` (same element count), in place.
  public mutating func multiply(by other: Tensor) {
    precondition(other.count == count, "multiplying \(shape) by \(other.shape)")
    other.withUnsafeBufferPointer { o in
      storage.withUnsafeMutableBufferPointer { v in
        for i in v.indices { v[i] *= o[i] }
      }
    }
  }

  /// True when no element is NaN or infinite. `x − x` is 0 for finite `x` and NaN otherwise,
  /// so one vectorised sum answers for the whole tensor (a branch per element would not vectorise).
  public var allFinite: Bool {
    storage.withUnsafeBufferPointer { v in
      var lanes = SIMD16<Float>()
      var i = 0
      while i + 16 <= v.count {
        let x = UnsafeRawPointer(v.baseAddress! + i).loadUnaligned(as: SIMD16<Float>.self)
        lanes += x - x
        i += 16
      }
      var tail: Float = 0
      while i < v.count {
        tail += v[i] - v[i]
        i += 1
      }
      return lanes.sum() + tail == 0
    }
  }

  /// Sets every element to zero, keeping the allocation.
  public mutating func zero() {
    storage.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
  }
}
