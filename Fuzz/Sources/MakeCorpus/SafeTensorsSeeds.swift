import AutoPrune
import AutoPruneNN
import Foundation

/// safetensors seeds: files the library writes (plain tensors, and the metadata `WeightsFile`
/// writes for each model kind) and hand-made hostile headers.
enum SafeTensorsSeeds {
  static func write(_ seeds: Seeds) throws {
    let tensors: [(name: String, shape: [Int], values: [Float])] = [
      ("fc1.weight", [2, 3], [0.5, -1, 2, 0, 1e-3, 3]), ("fc1.bias", [2], [0.1, -0.1]),
      ("fc1.weight_mask", [2, 3], [1, 0, 1, 1, 0, 1]),
    ]
    try seeds.write("tensors.safetensors", try SafeTensors.encode(tensors, metadata: [:]))
    try seeds.write("tensors-metadata.safetensors", try SafeTensors.encode(tensors, metadata: ["note": "hi"]))
    try seeds.write("empty-tensor.safetensors", try SafeTensors.encode([("x", [0, 4], [])], metadata: [:]))
    // As WeightsFile.save would label each model (the tensors are too few: the load is refused
    // after the model is built from the metadata).
    let weights = ["format": "autoprune-weights-1", "normalization_mean": "0.2860", "normalization_std": "0.3530"]
    for (kind, shape) in [("lenet300", "1,28,28"), ("lenet5", "1,28,28"), ("resnet20", "3,32,32")] {
      let metadata = weights.merging(["model": kind, "input_shape": shape]) { $1 }
      try seeds.write("weights-\(kind).safetensors", try SafeTensors.encode(tensors, metadata: metadata))
    }
    let vgg = weights.merging([
      "model": "vgg-like", "input_shape": "3,32,32", "width": "0.25", "normalization_channel_mean": "0.49,0.48,0.44",
      "normalization_channel_std": "0.24,0.24,0.26",
    ]) { $1 }
    try seeds.write("weights-vgg-like-0.25.safetensors", try SafeTensors.encode(tensors, metadata: vgg))
    // A network that is not built in, rebuilt from its `architecture` (an imported model's
    // file): the real thing, and settings out of bounds.
    let rng = RandomSource(seed: 2)
    let open = Model(network: Sequential([
      ("conv", Conv2D(1, 2, kernelSize: 3, padding: 1, bias: false, rng: rng)), ("bn", BatchNorm2D(2)), ("relu", ReLU()),
      ("block", Residual([("conv", Conv2D(2, 2, kernelSize: 3, padding: 1, rng: rng))])), ("pool", AdaptiveAvgPool2D(1, 1)),
      ("flatten", Flatten()), ("fc", Dense(2, 3, rng: rng)),
    ]), inputShape: [1, 4, 4], name: "imported")
    let path = NSTemporaryDirectory() + "/seed-open.safetensors"
    try WeightsFile.save(open, normalization: Normalization(mean: 0, std: 1), to: path)
    try seeds.write("weights-architecture.safetensors", [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
    try? FileManager.default.removeItem(atPath: path)
    let architecture = try NetworkArchitecture(describing: open.network).json
    let openMetadata = weights.merging(["model": "imported", "input_shape": "1,4,4"]) { $1 }
    for (name, json) in [
      ("huge-conv", architecture.replacingOccurrences(of: "\"outputs\":2", with: "\"outputs\":65536")),
      ("deep", String(repeating: "[", count: 200) + String(repeating: "]", count: 200)),
      ("not-json", "{\"layers\": [{\"name\": \"x\", \"layer\": {\"dense\": {\"inputs\": -1, \"outputs\": 3}}}]}"),
    ] {
      try seeds.write("architecture-\(name).safetensors", try SafeTensors.encode(tensors, metadata: openMetadata.merging(["architecture": json]) { $1 }))
    }
    // Hostile.
    try seeds.write("empty.safetensors", [])
    try seeds.write("seven-bytes.safetensors", [1, 0, 0, 0, 0, 0, 0])
    try seeds.write(
      "header-length-huge.safetensors", [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f] + Array("{}".utf8))
    try seeds.write(
      "header-length-past-end.safetensors",
      header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, declaredExtra: 100))
    try seeds.write("header-not-json.safetensors", header("{not json"))
    try seeds.write("header-not-utf8.safetensors", lengthPrefixed([0x7b, 0xff, 0xfe, 0x7d]))
    try seeds.write("header-array.safetensors", header("[1,2,3]"))
    try seeds.write(
      "dtype-f16.safetensors", header(#"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: 4))
    try seeds.write(
      "shape-negative.safetensors", header(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: 4))
    try seeds.write(
      "shape-overflow.safetensors",
      header(
        #"{"a":{"dtype":"F32","shape":[1099511627775,1099511627775,1099511627775],"data_offsets":[0,4]}}"#, data: 4))
    try seeds.write(
      "shape-float.safetensors", header(#"{"a":{"dtype":"F32","shape":[1.5e300],"data_offsets":[0,4]}}"#, data: 4))
    try seeds.write(
      "offsets-past-data.safetensors", header(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: 8))
    try seeds.write(
      "offsets-reversed.safetensors", header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: 8))
    try seeds.write(
      "offsets-huge.safetensors",
      header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[9223372036854775800,9223372036854775804]}}"#, data: 8))
    try seeds.write(
      "overlapping.safetensors",
      header(
        #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
        data: 12))
    try seeds.write(
      "metadata-not-strings.safetensors",
      header(#"{"__metadata__":{"model":5},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 4))
    try seeds.write(
      "num-batches-tracked.safetensors",
      header(
        #"{"bn1.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
        data: 12))
    let nan: [(name: String, shape: [Int], values: [Float])] = [
      ("fc1.weight", [1, 3], [.nan, .infinity, -.infinity]), ("fc1.weight_mask", [1, 3], [.nan, 1, 0]),
    ]
    try seeds.write(
      "nan-values.safetensors", try SafeTensors.encode(nan, metadata: weights.merging(["model": "lenet300"]) { $1 }))
    let badMetadata = [
      "model": "lenet300", "width": "nan", "input_shape": "1,28", "normalization_mean": "nan",
      "normalization_std": "-1",
    ]
    try seeds.write("metadata-out-of-range.safetensors", try SafeTensors.encode(tensors, metadata: badMetadata))
  }

  /// A file whose header is `json` (declaring `declaredExtra` more bytes than it has) followed by
  /// `data` zero bytes.
  static func header(_ json: String, declaredExtra: Int = 0, data: Int = 0) -> [UInt8] {
    var bytes = lengthPrefixed(Array(json.utf8), extra: declaredExtra)
    bytes += [UInt8](repeating: 0, count: data)
    return bytes
  }

  static func lengthPrefixed(_ header: [UInt8], extra: Int = 0) -> [UInt8] {
    withUnsafeBytes(of: UInt64(header.count + extra).littleEndian) { Array($0) } + header
  }
}
