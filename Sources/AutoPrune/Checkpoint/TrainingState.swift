import AutoPruneNN
import Foundation

/// What can be wrong with a checkpoint's content (its file format errors are `SafeTensorsError`).
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
  case missing(String, entry: String)
  case wrongSize(String, entry: String, expected: Int, found: Int)
  case badValue(String, entry: String, value: String)
  case notACheckpoint(String)

  public var description: String {
    switch self {
    case .missing(let f, let e): return "\(f): checkpoint entry \(e) is missing (incomplete or from another run)"
    case .wrongSize(let f, let e, let x, let n): return "\(f): checkpoint entry \(e) has \(n) values, the run needs \(x)"
    case .badValue(let f, let e, let v): return "\(f): checkpoint entry \(e) = \(v) is not valid"
    case .notACheckpoint(let f): return "\(f): not an autoprune checkpoint (no checkpoint_format in its metadata)"
    }
  }
}

/// Everything a run needs to go on exactly where it stopped, as named float tensors and named
/// text scalars: the form a safetensors file holds (tensors + string metadata).
///
/// Scalars that must survive bit for bit (RNG words, running sums) are stored as hexadecimal
/// bit patterns, never as decimal text.
public struct TrainingState {
  /// Named float tensors in the order first put (putting a name again replaces it in place).
  public private(set) var tensors: [(name: String, shape: [Int], values: [Float])] = []
  /// Named text values: counts, flags, and hexadecimal bit patterns.
  public private(set) var scalars: [String: String] = [:]
  private var index: [String: Int] = [:]
  /// Names errors after this file.
  public var source = "checkpoint"

  /// An empty state, to `put` into.
  public init() {}

  /// A state as read from a file; `source` names it in errors.
  public init(tensors: [(name: String, shape: [Int], values: [Float])], scalars: [String: String], source: String) {
    self.scalars = scalars
    self.source = source
    for t in tensors { put(t.name, t.values, shape: t.shape) }
  }

  /// Stores tensor `name` (shape `[values.count]` unless given), replacing one of that name.
  public mutating func put(_ name: String, _ values: [Float], shape: [Int]? = nil) {
    let entry = (name, shape ?? [values.count], values)
    if let i = index[name] { tensors[i] = entry } else {
      index[name] = tensors.count
      tensors.append(entry)
    }
  }

  /// True when tensor `name` is stored (scalars are not looked at).
  public func has(_ name: String) -> Bool { index[name] != nil }

  /// The values of tensor `name`, which must hold `count` of them when given.
  public func floats(_ name: String, count: Int? = nil) throws -> [Float] {
    guard let i = index[name] else { throw CheckpointError.missing(source, entry: name) }
    let values = tensors[i].values
    if let count, values.count != count { throw CheckpointError.wrongSize(source, entry: name, expected: count, found: values.count) }
    return values
  }

  /// Stores a text scalar.
  public mutating func put(_ name: String, text: String) { scalars[name] = text }

  /// The text scalar `name`; a missing one is an error naming it.
  public func text(_ name: String) throws -> String {
    guard let value = scalars[name] else { throw CheckpointError.missing(source, entry: name) }
    return value
  }

  /// Stores an integer as decimal text.
  public mutating func put(_ name: String, int: Int) { scalars[name] = String(int) }

  /// The integer scalar `name`; anything but a decimal integer is an error.
  public func int(_ name: String) throws -> Int {
    let t = try text(name)
    guard let value = Int(t) else { throw CheckpointError.badValue(source, entry: name, value: t) }
    return value
  }

  /// Stores a flag as `true` or `false`.
  public mutating func put(_ name: String, bool: Bool) { scalars[name] = bool ? "true" : "false" }

  /// The flag `name`; anything but `true` or `false` is an error.
  public func bool(_ name: String) throws -> Bool {
    let t = try text(name)
    guard t == "true" || t == "false" else { throw CheckpointError.badValue(source, entry: name, value: t) }
    return t == "true"
  }

  /// Stores 64-bit words as comma-separated hexadecimal, bit for bit.
  public mutating func put(_ name: String, words: [UInt64]) {
    scalars[name] = words.map { String($0, radix: 16) }.joined(separator: ",")
  }

  /// Exactly `count` hexadecimal words stored under `name`.
  public func words(_ name: String, count: Int) throws -> [UInt64] {
    let t = try text(name)
    let words = t.split(separator: ",").compactMap { UInt64($0, radix: 16) }
    guard words.count == count else { throw CheckpointError.badValue(source, entry: name, value: t) }
    return words
  }

  /// Stores a Double as its bit pattern, so it comes back exactly.
  public mutating func put(_ name: String, double: Double) { put(name, words: [double.bitPattern]) }
  /// A Double stored by `put(_:double:)`.
  public func double(_ name: String) throws -> Double { Double(bitPattern: try words(name, count: 1)[0]) }
  /// Stores a Float as its bit pattern, so it comes back exactly.
  public mutating func put(_ name: String, float: Float) { put(name, words: [UInt64(float.bitPattern)]) }

  /// A Float stored by `put(_:float:)`; a word wider than 32 bits is an error.
  public func float(_ name: String) throws -> Float {
    let word = try words(name, count: 1)[0]
    guard word <= UInt64(UInt32.max) else { throw CheckpointError.badValue(source, entry: name, value: String(word, radix: 16)) }
    return Float(bitPattern: UInt32(word))
  }

  // MARK: Shared pieces

  /// Stores the RNG's four state words under `prefix`.
  public mutating func put(_ prefix: String, rng: RandomSource) {
    let s = rng.state
    put(prefix, words: [s.0, s.1, s.2, s.3])
  }

  /// Puts back the RNG state; an all-zero state (one xoshiro256** never leaves) is refused.
  public func restore(_ rng: RandomSource, from prefix: String) throws {
    let w = try words(prefix, count: 4)
    guard w.contains(where: { $0 != 0 }) else { throw CheckpointError.badValue(source, entry: prefix, value: "all zero") }
    rng.state = (w[0], w[1], w[2], w[3])
  }

  /// An optimizer's buffers as `PREFIX.SLOT.PARAMETER` tensors plus its step count.
  public mutating func put(_ prefix: String, optimizer: any Optimizer) {
    let state = optimizer.state
    put("\(prefix).steps", int: state.steps)
    put("\(prefix).slots", text: state.slots.keys.sorted().joined(separator: ","))
    for (slot, buffers) in state.slots.sorted(by: { $0.key < $1.key }) {
      put("\(prefix).\(slot).names", text: buffers.keys.sorted().joined(separator: ","))
      for (name, values) in buffers.sorted(by: { $0.key < $1.key }) { put("\(prefix).\(slot).\(name)", values) }
    }
  }

  /// Restores `optimizer`; each buffer must match its parameter's size (`parameters`).
  public func restore(_ optimizer: any Optimizer, from prefix: String, parameters: [Parameter]) throws {
    let sizes = Dictionary(parameters.map { ($0.name, $0.count) }, uniquingKeysWith: { a, _ in a })
    var slots: [String: [String: [Float]]] = [:]
    for slot in try text("\(prefix).slots").split(separator: ",").map(String.init) {
      var buffers: [String: [Float]] = [:]
      for name in try text("\(prefix).\(slot).names").split(separator: ",").map(String.init) {
        guard let size = sizes[name] else { throw CheckpointError.badValue(source, entry: "\(prefix).\(slot).names", value: name) }
        let values = try floats("\(prefix).\(slot).\(name)")
        // SGD without momentum keeps an empty buffer.
        guard values.isEmpty || values.count == size else {
          throw CheckpointError.wrongSize(source, entry: "\(prefix).\(slot).\(name)", expected: size, found: values.count)
        }
        try checkFinite(values, entry: "\(prefix).\(slot).\(name)")
        buffers[name] = values
      }
      slots[slot] = buffers
    }
    let steps = try int("\(prefix).steps")
    guard steps >= 0 else { throw CheckpointError.badValue(source, entry: "\(prefix).steps", value: "\(steps)") }
    optimizer.restore(OptimizerState(slots: slots, steps: steps))
  }

  /// Refuses NaN and infinite values of `entry`: training on them only diverges later, far
  /// from the file at fault.
  private func checkFinite(_ values: [Float], entry: String) throws {
    if let bad = values.firstIndex(where: { !$0.isFinite }) {
      throw CheckpointError.badValue(source, entry: entry, value: "\(values[bad]) at index \(bad)")
    }
  }

  /// Parameter values under their own names.
  public mutating func put(parameters: [Parameter]) {
    for p in parameters { put(p.name, p.value.storage, shape: p.shape) }
  }

  /// Sets every parameter from its tensor, checking its size and refusing non-finite values.
  public func restore(parameters: [Parameter]) throws {
    for p in parameters {
      let values = try floats(p.name, count: p.count)
      try checkFinite(values, entry: p.name)
      p.value = Tensor(shape: p.shape, values: values)
    }
  }

  /// Buffer values (BatchNorm running averages) under their own names.
  public mutating func put(buffers: [Buffer]) {
    for b in buffers { put(b.name, b.value.storage, shape: b.value.shape) }
  }

  /// Sets every buffer from its tensor, checking its size.
  public func restore(buffers: [Buffer]) throws {
    for b in buffers {
      let values = try floats(b.name, count: b.value.count)
      try checkFinite(values, entry: b.name)  // running statistics of NaN normalise everything to NaN
      b.value = Tensor(shape: b.value.shape, values: values)
    }
  }
}
