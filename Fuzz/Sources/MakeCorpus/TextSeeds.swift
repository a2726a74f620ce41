import Foundation

/// Recipe (YAML) and run-directory (JSON) seeds. Valid recipes are copied from `recipes/`; a real
/// run's files come from `--run DIR` (summary.json, a NUL byte, log.jsonl: the layout FuzzRunLog
/// splits).
enum TextSeeds {
  static func recipes(_ seeds: Seeds, from directory: String) throws {
    for name in ["demo-bundled.yaml", "lenet5-autoprune-weight.yaml", "lenet300-dense.yaml"] {
      try seeds.write(
        name, try String(contentsOfFile: (directory as NSString).appendingPathComponent(name), encoding: .utf8))
    }
    try seeds.write(
      "seed-list.yaml",
      "name: x\ncommand: train\nseeds: [1, 5, 9]\nargs: {model: lenet5, epochs: 2, augment: true, shuffle: no}\n")
    // Hostile.
    let hostile = [
      "seeds-1e12.yaml": "name: x\nseeds: 1000000000000\n",
      "seeds-negative.yaml": "name: x\nseeds: -3\n",
      "seeds-list-huge-values.yaml": "name: x\nseeds: [18446744073709551615, 99999999999999999999, -1]\n",
      "seeds-float.yaml": "name: x\nseeds: 1e12\n",
      "name-path.yaml": "name: ../../etc\n",
      "name-control.yaml": "name: \"a\\u0000b\\tc\"\n",
      "reserved-arg.yaml": "name: x\nargs:\n  out: /tmp/elsewhere\n",
      "arg-not-scalar.yaml": "name: x\nargs:\n  mu: [1, 2]\n",
      "duplicate-keys.yaml": "name: x\nname: y\nseeds: 2\nseeds: 3\n",
      "not-a-mapping.yaml": "- name\n- x\n",
      "unclosed.yaml": "name: [unclosed\n",
      "tabs.yaml": "name: x\nargs:\n\tmu: 1\n",
      "anchors.yaml": "name: &n x\nargs: &a {model: *n}\nseeds: &s [1, 2]\n",
      "alias-bomb.yaml":
        "name: x\nseeds: [&a [1, 1, 1, 1, 1, 1, 1, 1], &b [*a, *a, *a, *a, *a, *a, *a, *a], &c [*b, *b, *b, *b, *b, *b, *b, *b], [*c, *c, *c, *c]]\n",
      "deep-nesting.yaml": "name: x\nargs: " + String(repeating: "[", count: 2000) + "\n",
      "tags.yaml": "name: !!binary aGVsbG8=\nseeds: !!float 3\n",
      "bom.yaml": "\u{feff}name: x\n",
    ]
    for (name, text) in hostile { try seeds.write(name, text) }
  }

  static func runLogs(_ seeds: Seeds, runs: [String]) throws {
    for (i, run) in runs.enumerated() {
      let summary = (try? Data(contentsOf: URL(fileURLWithPath: run).appendingPathComponent("summary.json"))) ?? Data()
      let log = (try? Data(contentsOf: URL(fileURLWithPath: run).appendingPathComponent("log.jsonl"))) ?? Data()
      try seeds.write(
        "run-\(i + 1)-\(URL(fileURLWithPath: run).lastPathComponent)", [UInt8](summary) + [0] + [UInt8](log))
    }
    let line =
      #"{"epoch":1,"phase":"prune","test_accuracy":0.8,"train_accuracy":0.85,"kept_fraction":0.5,"flops_fraction":0.4,"per_layer_kept":{"fc1":0.3,"fc2":0.9}}"#
    let summary =
      #"{"command":"prune","model":"lenet300","method":"autoprune","test_accuracy":0.8,"dense_test_accuracy":0.85,"compression":12.5,"flops_fraction":0.1,"architecture":"784-300-100-10","per_layer":[{"name":"fc1","weights":235200,"kept_weights":1000}]}"#
    try seeds.write("summary-and-log.txt", summary + "\0" + line + "\n" + line + "\n")
    try seeds.write("log-only.txt", "\0" + line + "\n")
    // Hostile.
    let hostile = [
      "summary-nan-literal.txt": #"{"test_accuracy": NaN, "compression": Infinity}"#,
      "summary-overflow.txt":
        #"{"test_accuracy": 1e999, "compression": 1.7976931348623157e308, "epoch_seconds": 1e308}"#,
      "summary-negative.txt": #"{"test_accuracy": -1, "dense_test_accuracy": 2, "flops_fraction": -0.5}"#,
      "summary-wrong-types.txt":
        #"{"test_accuracy": "high", "compression": true, "per_layer": 5, "model": ["lenet300"]}"#,
      "summary-huge-integers.txt":
        #"{"compression": 123456789012345678901234567890, "per_layer":[{"name":"x","weights":1e308,"kept_weights":1e308}]}"#,
      "summary-deep.txt": String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000),
      "summary-not-object.txt": "[1, 2, 3]",
      "summary-lenet300-out.txt": #"{"model":"lenet300","out":"/dev/zero","command":"train"}"#,
      "log-garbage.txt":
        "\0{\"epoch\":1}\nnot json\n{\"test_accuracy\": 1e308, \"kept_fraction\": 0}\n{\"per_layer_kept\": {\"a\": 1e308, \"b\": -1}}\n",
      "log-log-scale-zero.txt":
        "\0{\"kept_fraction\": 0, \"flops_fraction\": 0}\n{\"kept_fraction\": 1e-320, \"flops_fraction\": 5e-324}\n",
      "log-many-phases.txt": "\0"
        + (0..<50).map { #"{"phase":"p\#($0 % 7)","test_accuracy":0.\#($0 % 10)}"# }.joined(separator: "\n"),
    ]
    for (name, text) in hostile { try seeds.write(name, text) }
  }
}
