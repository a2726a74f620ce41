import AutoPrune
import AutoPruneKernels
import AutoPruneNN
import ArgumentParser
import Foundation

extension ModelKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension ScheduleKind: ExpressibleByArgument {}

/// Where the images come from.
struct DataOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Directory with the four MNIST-format IDX files (.gz or not), CIFAR-10's binary batches, or an image folder (train/CLASS/*.jpg|png and val/CLASS/…); or 'bundled' for the subset shipped in the package.",
      discussion: "Default: \(BundledData.systemFashionMNIST) when present, else the bundled subset."))
  var data: String?

  @Option(parsing: .unconditional, help: "Pad the images with black to N×N (28 × 28 Fashion-MNIST to 32 for the CIFAR networks).")
  var resize: Int?

  @Option(
    parsing: .unconditional,
    help: "Image side the network takes, for an image folder (its crops) and the ImageNet networks (default 224; 32 and 64 suit small data, with the stem adapted).")
  var inputSize: Int?

  @Option(parsing: .unconditional, help: "Smallest share of an image's area a random training crop from an image folder covers (default 0.08, torchvision's).")
  var cropScale: Double = 0.08

  func validate() throws {
    if let resize, !(1...1024).contains(resize) { throw ValidationError("--resize must be in 1…1024 (got \(resize))") }
    if let inputSize, !(16...1024).contains(inputSize) { throw ValidationError("--input-size must be in 16…1024 (got \(inputSize))") }
    if !(cropScale > 0 && cropScale <= 1) { throw ValidationError("--crop-scale must be in (0, 1] (got \(cropScale))") }
  }

  /// The directory to load and a label for it.
  func resolve() throws -> (directory: String, label: String) {
    if let data, data != "bundled" { return (data, data) }
    if data == nil, MNISTFormat.isPresent(in: BundledData.systemFashionMNIST) {
      return (BundledData.systemFashionMNIST, BundledData.systemFashionMNIST)
    }
    guard let bundled = BundledData.directory else {
      throw Failure("the bundled Fashion-MNIST subset was not found beside the executable; pass --data DIR")
    }
    return (bundled, "bundled Fashion-MNIST subset (2,000 train / 500 test)")
  }

  /// Whether `--data` is an image folder (decoded batch by batch) rather than files held in memory.
  var isImageFolder: Bool { (try? ImageFolder.isPresent(in: resolve().directory)) == true }

  /// Train and test splits held in memory (CIFAR-10 when the directory holds its batches, else
  /// MNIST format), padded to `--resize`; an image folder is refused (`load(side:)` reads it).
  func loadInMemory() throws -> (train: ImageDataset, test: ImageDataset, label: String) {
    let (directory, label) = try resolve()
    if isImageFolder { throw ValidationError("--data \(directory) is an image folder; this command reads MNIST or CIFAR-10 files") }
    if inputSize != nil { throw ValidationError("--input-size applies to image folders; to pad these images use --resize") }
    var (train, test) = CIFAR10Format.hasAnyBatch(in: directory)
      ? try CIFAR10Format.load(directory: directory) : try MNISTFormat.load(directory: directory)
    if let resize {
      guard resize >= train.height && resize >= train.width else {
        throw ValidationError("--resize \(resize): the images are \(train.height)×\(train.width); padding only makes them larger")
      }
      train = train.padded(to: resize)
      test = test.padded(to: resize)
    }
    return (train, test, resize.map { "\(label), padded to \($0)×\($0)" } ?? label)
  }

  /// Train and test splits: an image folder's as `side × side` RGB crops (`--input-size`, else
  /// `side`, else 224), or `loadInMemory()`.
  func load(side: Int? = nil) throws -> (train: any LabelledImages, test: any LabelledImages, label: String) {
    guard isImageFolder else { return try loadInMemory() }
    let (directory, label) = try resolve()
    if resize != nil { throw ValidationError("--resize pads MNIST or CIFAR-10 images; an image folder's size is --input-size") }
    let size = inputSize ?? side ?? 224
    let folder = try ImageFolder(root: directory)
    let train = ImageFolderDataset(folder, training: true, size: size, cropScale: cropScale...1)
    let test = ImageFolderDataset(folder, training: false, size: size)
    return (train, test, "\(label) (image folder, \(folder.classes.count) classes, \(size)×\(size) crops)")
  }

  /// The data for a run of the built-in `kind`: an image folder at the side the network takes.
  func load(for kind: ModelKind) throws -> (train: any LabelledImages, test: any LabelledImages, label: String) {
    try load(side: kind.takesAnySize ? nil : kind.imageSide)
  }

  /// The files `--data` reads (those that exist), so no output is written over one of them.
  var inputFiles: [(flag: String, path: String?)] {
    guard let directory = try? resolve().directory else { return [] }
    let names = [MNISTFormat.trainImages, MNISTFormat.trainLabels, MNISTFormat.testImages, MNISTFormat.testLabels]
      + CIFAR10Format.trainFiles + [CIFAR10Format.testFile]
    return CIFAR10Format.folders(directory).flatMap { folder in
      names.flatMap { [$0, $0 + ".gz"] }.map { (folder as NSString).appendingPathComponent($0) }.filter(FileBytes.entryExists)
    }.map { ("--data", $0) }
  }

  /// Refuses a `--resize` or `--input-size` that cannot give the images `model` takes, before
  /// any data is read or padded.
  func checkResize(for model: ModelKind) throws {
    if let inputSize, !model.takesAnySize, inputSize != model.imageSide {
      throw ValidationError("--input-size \(inputSize): \(model.rawValue) takes \(model.imageSide)×\(model.imageSide) images")
    }
    guard let resize, !model.takesAnySize, resize != model.imageSide else { return }
    throw ValidationError("--resize \(resize): \(model.rawValue) takes \(model.imageSide)×\(model.imageSide) images")
  }

  /// `load()`, checked against the images `model` takes (an image folder cropped to its side).
  func load(for model: Model) throws -> (train: any LabelledImages, test: any LabelledImages, label: String) {
    if let kind = model.kind { try checkResize(for: kind) }
    if let inputSize, inputSize != model.inputShape[1] {
      throw ValidationError("--input-size \(inputSize): \(model.name) takes \(model.inputShape[1])×\(model.inputShape[2]) images")
    }
    let loaded = try load(side: model.inputShape[1])
    try DataOptions.check(loaded.train, fits: model.inputShape, model: model.name)
    return loaded
  }

  /// The built-in `kind` initialised from `seed` for `data`'s channels (and, for the networks
  /// that take any size, its image side and classes), after checking the images fit it; with
  /// the RNG it drew from, which the run goes on with.
  func build(_ kind: ModelKind, width: Double, for data: any LabelledImages, seed: UInt64) throws -> (Model, RandomSource) {
    let rng = RandomSource(seed: seed)
    let shape = data.sampleShape
    if kind.takesAnySize, let problem = DataOptions.sizeProblem(kind, side: shape[1]) { throw ValidationError(problem) }
    let model = Model(
      kind, rng: rng, inputChannels: shape[0], width: width, inputSize: kind.takesAnySize ? shape[1] : nil,
      classes: data.classes)
    try DataOptions.check(data, fits: model.inputShape, model: model.name)
    return (model, rng)
  }

  /// Why `kind` cannot take square images of `side` (nil when it can).
  static func sizeProblem(_ kind: ModelKind, side: Int) -> String? {
    let probe = Model(kind, rng: RandomSource(seed: 0), inputSize: side, classes: 1)
    return probe.network.shapeProblem(for: probe.inputShape).map { "\(kind.rawValue) at \(side)×\(side) images: \($0) (try a larger --input-size)" }
  }

  /// A clear error when the images are not the shape the model takes.
  static func check(_ data: any LabelledImages, fits shape: [Int], model: String) throws {
    let sample = data.sampleShape
    guard sample != shape else { return }
    let hint = sample[1] < shape[1] && sample[0] == shape[0] ? " (add --resize \(shape[1]))" : ""
    throw ValidationError("\(model) takes \(shape.map(String.init).joined(separator: "×")) images; the data has \(sample.map(String.init).joined(separator: "×"))\(hint)")
  }
}

/// The model a run trains or prunes: the built-in `--model`, new for the data, or the network a
/// weights file holds (an imported model carries its architecture); with the data and the RNG
/// the run goes on with.
enum RunModel {
  static func make(
    kind: ModelKind?, weights: String?, width: Double, data: DataOptions, seed: UInt64
  ) throws -> (model: Model, rng: RandomSource, train: any LabelledImages, test: any LabelledImages, label: String) {
    if let kind {
      let (train, test, label) = try data.load(for: kind)
      let (model, rng) = try data.build(kind, width: width, for: train, seed: seed)
      return (model, rng, train, test, label)
    }
    guard let weights, let (model, _) = try WeightsFile.loadModel(path: weights, kind: nil) else {
      throw ValidationError("\(weights ?? "the weights file") does not name its model; pass --model (\(ModelKind.names))")
    }
    let (train, test, label) = try data.load(for: model)
    try WeightsFile.checkClassNames(path: weights, against: test)
    return (model, RandomSource(seed: seed), train, test, label)
  }

  /// Refuses a run that names neither a model nor a weights file to take it from, and the
  /// model's own options without `--model`.
  static func check(kind: ModelKind?, weights: String?, width: WidthOption, data: DataOptions) throws {
    guard let kind else {
      if weights == nil { throw ValidationError("give --model (\(ModelKind.names)) or --weights FILE (from train, prune or import)") }
      if width.width != 1 { throw ValidationError("--width applies with --model; the weights file fixes the network") }
      return
    }
    try data.checkResize(for: kind)
    try width.check(for: kind)
  }
}

/// `--width` of the VGG-like network.
struct WidthOption: ParsableArguments {
  @Option(parsing: .unconditional, help: "Width multiplier of vgg-like or mobilenetv2 (0.25, 0.5, 1, 1.4, …; every layer's channels times this).")
  var width: Double = 1

  func validate() throws {
    if !(width > 0 && width <= 4) { throw ValidationError("--width must be in (0, 4] (got \(width))") }
  }

  /// Refuses a width other than 1 for a model it does not apply to (it would be ignored).
  func check(for model: ModelKind) throws {
    if width != 1 && !model.hasWidth { throw ValidationError("--width applies to vgg-like and mobilenetv2 only, not \(model.rawValue)") }
  }
}

/// Threads and machine-readable output, shared by every command that computes.
struct RunOptions: ParsableArguments {
  @Option(parsing: .unconditional, help: "Worker threads for kernels (default: every core).")
  var threads: Int?

  @Flag(help: "Print one JSON object with the results as the last line of stdout.")
  var json = false

  func validate() throws {
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    try RunOptions.checkEnvironment()
  }

  /// Applies `AUTOPRUNE_KERNELS` and checks `AUTOPRUNE_GEMM`, before any work starts. The kernel
  /// set comes first: loading OpenBLAS (which the GEMM check may do) sets its core type from it.
  static func checkEnvironment() throws {
    do {
      try InstructionSet.applyEnvironment()
    } catch {
      throw ValidationError(error.message)
    }
    if let problem = GEMM.environmentProblem { throw ValidationError(problem) }
  }

  func apply() {
    if let threads { Parallel.threads = threads }
  }
}

/// Where a run's log goes (docs/run-log.md).
struct LogOptions: ParsableArguments {
  @Option(help: "Write log.jsonl (one line per epoch), summary.json and checkpoints into this directory (default: runs/NAME, NAME the --out file's name without extension).")
  var runDir: String?

  @Flag(help: "Write no run directory (no log, summary or checkpoints).")
  var noRunDir = false

  func validate() throws {
    if noRunDir && runDir != nil { throw ValidationError("give --run-dir or --no-run-dir, not both") }
    if runDir == "" { throw ValidationError("--run-dir is empty: give a directory") }
  }

  /// The files a run writes into its directory (an `--out` must not be one of them).
  static let runFiles = ["log.jsonl", "summary.json", Checkpoint.fileName]

  /// The run directory of a command writing `out`, never another run's: `--resume DIR` goes
  /// on in DIR; an explicit `--run-dir` that holds a run, finished or interrupted, is refused
  /// (only `--resume` may go on with one); the default `runs/NAME` (NAME from `out`'s file
  /// name) becomes `runs/NAME-2`, `-3`, … when it is taken.
  func directory(writing out: String, resuming: String?) throws -> String? {
    let directory = try chooseDirectory(writing: out, resuming: resuming)
    if let directory {
      for name in LogOptions.runFiles where Output.sameFile(out, directory + "/" + name) {
        throw ValidationError("--out \(out) is the run directory's \(name): write the model elsewhere")
      }
    }
    return directory
  }

  private func chooseDirectory(writing out: String, resuming: String?) throws -> String? {
    if noRunDir { return nil }
    if let resuming { return runDir ?? resuming }
    if let runDir {
      if Checkpoint.exists(in: runDir) {
        throw ValidationError("--run-dir \(runDir) holds an interrupted run's checkpoint: go on with --resume \(runDir), or choose another --run-dir")
      }
      if FileBytes.entryExists(runDir + "/summary.json") {
        throw ValidationError("--run-dir \(runDir) holds a finished run (summary.json): choose another --run-dir, or remove that one")
      }
      return runDir
    }
    var name = ((out as NSString).lastPathComponent as NSString).deletingPathExtension
    // `...safetensors` would name `runs/..`: a name of dots (or none) is no name.
    if name.allSatisfy({ $0 == "." }) { name = "run" }
    let base = "runs/" + name
    var candidate = base
    var suffix = 2
    while LogOptions.isTaken(candidate) {
      candidate = "\(base)-\(suffix)"
      suffix += 1
    }
    return candidate
  }

  /// True when anything but an empty directory is at `path` (a file, a link, another run).
  static func isTaken(_ path: String) -> Bool {
    guard FileBytes.entryExists(path) else { return false }
    return (try? FileManager.default.contentsOfDirectory(atPath: path))?.isEmpty != true
  }
}

/// The value of an option given under its name or under its old, hidden one (kept so that
/// recipes and scripts written for it still run); both at once is refused.
func either<T>(_ value: T?, _ old: T?, _ name: String, old oldName: String) throws -> T? {
  if value != nil && old != nil { throw ValidationError("\(oldName) is the old name of \(name): give \(name) once") }
  return value ?? old
}

/// Most epochs any phase may ask for: far past any real run, and small enough that epochs ×
/// steps per epoch, and every count printed from it, stays well inside 64 bits.
let maximumEpochs = 1_000_000

/// Refuses an epoch count below `atLeast` or above `maximumEpochs` (nil: not given).
func checkEpochs(_ flag: String, _ value: Int?, atLeast minimum: Int) throws {
  guard let value else { return }
  if value < minimum { throw ValidationError("\(flag) must be at least \(minimum) (got \(value))") }
  if value > maximumEpochs { throw ValidationError("\(flag) must be at most \(maximumEpochs) (got \(value))") }
}

/// Dense-training hyper-parameters.
struct TrainingOptions: ParsableArguments {
  @Option(parsing: .unconditional, help: "Training epochs (default 10).")
  var epochs: Int?

  @Option(parsing: .unconditional, help: "Mini-batch size.")
  var batchSize = 100

  @Option(help: "Optimizer: sgd (with momentum) or adam.")
  var optimizer = OptimizerKind.sgd

  // .unconditional so that `--lr -1` reaches validation instead of reading as a flag.
  @Option(parsing: .unconditional, help: "Learning rate (default: 0.05 for sgd, 0.001 for adam).")
  var lr: Float?

  @Option(parsing: .unconditional, help: "SGD momentum.")
  var momentum: Float = 0.9

  @Flag(help: "Nesterov momentum (SGD).")
  var nesterov = false

  @Option(parsing: .unconditional, help: "L2 weight decay.")
  var weightDecay: Float = 0

  @Option(help: "Learning-rate schedule: constant, step (×0.1 every 5 epochs) or cosine.")
  var schedule = ScheduleKind.cosine

  @Option(parsing: .unconditional, help: "Random seed (initialisation, shuffling); same seed and threads give identical weights.")
  var seed: UInt64 = 1

  @Flag(inversion: .prefixedNo, help: ArgumentHelp(
    "Augment training batches: random crop of the image padded by 4 pixels, and horizontal flips (CIFAR training).",
    discussion: "Default: none for train; for prune, shifts of up to 1/8 of the image side without flips when the pruning phase has more than \(PruningAugmentation.maximumUnshiftedEpochs) epochs (a small data set), so the network does not learn the images by heart. --no-augment turns that off."))
  var augment: Bool?

  @Flag(help: "Under MPI: normalise BatchNorm's training batches with the whole global batch's statistics (summed over the ranks) instead of each rank's share.")
  var syncBatchnorm = false

  @Option(help: "Under MPI: megabytes of gradients summed per allreduce; each bucket starts as soon as the backward pass has finished it, while the rest of the pass runs (0: one sum after the whole pass).")
  var allreduceBucketMb: Double = 4

  func validate() throws {
    try checkEpochs("--epochs", epochs, atLeast: 1)
    if batchSize < 1 { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
    if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number (got \(lr))") }
    if !(momentum >= 0 && momentum < 1) { throw ValidationError("--momentum must be in [0, 1) (got \(momentum))") }
    if nesterov && momentum == 0 { throw ValidationError("--nesterov needs --momentum > 0") }
    if !(weightDecay >= 0 && weightDecay.isFinite) { throw ValidationError("--weight-decay must be ≥ 0 (got \(weightDecay))") }
    if !(allreduceBucketMb >= 0 && allreduceBucketMb <= 1e6) { throw ValidationError("--allreduce-bucket-mb must be between 0 and 1e6 (got \(allreduceBucketMb))") }
  }

  var config: TrainingConfig {
    var c = TrainingConfig()
    c.epochs = epochs ?? 10
    c.batchSize = batchSize
    c.optimizer = optimizer
    c.learningRate = lr ?? TrainingConfig.defaultLearningRate(for: optimizer)
    c.momentum = momentum
    c.nesterov = nesterov
    c.weightDecay = weightDecay
    c.schedule = schedule
    c.seed = seed
    c.augmentation = augment == true ? Augmentation() : nil
    return c
  }
}

/// Printing helpers: tables and the final JSON line.
enum Output {
  /// What the ranks of an MPI job spent communicating (rank 0's view): a line for stdout.
  static func collectiveLine(_ world: MPI, steps: Int) -> String {
    String(format: "MPI: %d ranks, %.2f s in %d collective calls (%.2f ms per training step)",
           world.size, world.collectiveSeconds, world.collectiveCalls, 1000 * world.collectiveSeconds / Double(max(1, steps)))
  }

  /// `object` with the fields of `record` added (its keys win), as one JSON line.
  static func json<Record: Encodable>(_ object: [String: Any], adding record: Record) {
    guard let data = try? RunRecordCoding.line(record), let fields = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      return json(object)
    }
    json(object.merging(fields) { $1 })
  }

  static func json(_ object: [String: Any]) {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]),
      let text = String(data: data, encoding: .utf8)
    else { return }
    print(text)
  }

  /// Writes a run's summary to its log directory and, with `--json`, as stdout's last line,
  /// after adding what only the command knows: the output file, the command line, and a
  /// granularity text replacing the method's.
  static func finish(_ summary: RunSummary, out: String, granularity: String? = nil, json: Bool, log: RunLog?) throws {
    var summary = summary
    summary.out = out
    summary.commandLine = (["autoprune"] + Invocation.withoutResume(Invocation.arguments)).joined(separator: " ")
    if let granularity { summary.granularity = granularity }
    if json, let data = try? RunRecordCoding.line(summary) { print(String(decoding: data, as: UTF8.self)) }
    try log?.writeSummary(summary)
  }

  /// True when two paths name one file, through symbolic links and `.`/`..` too.
  static func sameFile(_ a: String, _ b: String) -> Bool {
    let resolved = { (p: String) in URL(fileURLWithPath: p).resolvingSymlinksInPath().standardizedFileURL.path }
    return resolved(a) == resolved(b)
  }

  /// Rejects, before any work starts, an output path that could not be written at the end:
  /// empty, a directory, in a directory that does not exist or is not writable, a file that
  /// is not writable, or one of the command's own `inputs`.
  static func checkWritableDestination(_ path: String, flag: String, inputs: [(flag: String, path: String?)] = []) throws {
    guard !path.isEmpty else { throw ValidationError("\(flag) is empty: give a file path") }
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw ValidationError("\(flag) \(path): directory \(directory) does not exist")
    }
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
      if isDirectory.boolValue { throw ValidationError("\(flag) \(path) is a directory: give a file path") }
      if access(path, W_OK) != 0 { throw ValidationError("\(flag) \(path): the file is not writable") }
    }
    // Files are written beside their destination and renamed into place (atomic writes).
    if access(directory, W_OK | X_OK) != 0 { throw ValidationError("\(flag) \(path): directory \(directory) is not writable") }
    for (inputFlag, input) in inputs {
      guard let input, sameFile(path, input) else { continue }
      throw ValidationError("\(flag) \(path) is also \(inputFlag): write the result to another file")
    }
  }

  /// Peak resident set size of this process in MiB.
  static var peakRSSMiB: Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF_WHO, &usage)
    return Double(usage.ru_maxrss) / 1024
  }
}

#if canImport(Glibc)
  private let RUSAGE_SELF_WHO = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
  private let RUSAGE_SELF_WHO = RUSAGE_SELF
#endif

/// The arguments of the command running now, after the subcommand name: what a checkpoint
/// stores so that `--resume DIR` alone can go on, and the summary's command line. Bound for the
/// duration of `run` (task-local, not a global that one command leaves set for the next).
enum Invocation {
  @TaskLocal static var arguments: [String] = []

  /// Runs `autoprune ARGUMENTS` in this process (the tool's own command line, or a recipe's
  /// seed) with them as the invocation, so its checkpoints and summary name the command that ran.
  static func run(_ arguments: [String]) throws {
    var command = try AutoPruneCommand.parseAsRoot(arguments)
    try $arguments.withValue(arguments) { try command.run() }
  }

  /// `arguments` without a `--resume DIR` / `--resume=DIR`.
  static func withoutResume(_ arguments: [String]) -> [String] {
    var result: [String] = []
    var skipNext = false
    for a in arguments {
      if skipNext { skipNext = false; continue }
      if a == "--resume" { skipNext = true; continue }
      if a.hasPrefix("--resume=") { continue }
      result.append(a)
    }
    return result
  }

  /// The directory of `--resume DIR` in `arguments`, if any.
  static func resumeDirectory(in arguments: [String]) -> String? {
    for (i, a) in arguments.enumerated() {
      if a == "--resume", i + 1 < arguments.count { return arguments[i + 1] }
      if a.hasPrefix("--resume=") { return String(a.dropFirst("--resume=".count)) }
    }
    return nil
  }

  /// Flags that change only what is printed, not what is computed: a resumed run may add or
  /// drop them.
  static let presentationFlags: Set<String> = ["--quiet", "--json"]

  /// `arguments` without the presentation flags.
  static func withoutPresentation(_ arguments: [String]) -> [String] { arguments.filter { !presentationFlags.contains($0) } }

  /// `train|prune --resume DIR` with no other options but presentation flags becomes the
  /// checkpoint's stored arguments, those flags and `--resume DIR`; with other options they
  /// must be the checkpoint's (a clear error here, before parsing asks for a missing --model).
  static func expandingResume(_ arguments: [String]) throws -> [String] {
    guard let command = arguments.first, ["train", "prune"].contains(command),
      let directory = resumeDirectory(in: arguments)
    else { return arguments }
    let rest = withoutResume(arguments)
    let stored = try CheckpointSession.arguments(of: Checkpoint.read(directory: directory))
    guard stored.first == command else {
      throw ValidationError("--resume \(directory): the checkpoint is from `autoprune \(stored.first ?? "?")`, not `\(command)`")
    }
    if withoutPresentation(rest).count == 1 {
      let added = rest.dropFirst().filter { !stored.contains($0) }
      return withoutPresentation(stored) + added + ["--resume", directory]
    }
    guard withoutPresentation(rest) == withoutPresentation(stored) else { throw otherOptions(resuming: directory, stored: stored) }
    return arguments
  }

  /// The error for options that are not the checkpoint's.
  static func otherOptions(resuming directory: String, stored: [String]) -> ValidationError {
    ValidationError(
      "--resume \(directory): the checkpoint was made by `autoprune \(stored.joined(separator: " "))`; give --resume alone (with --quiet or --json if wanted) or exactly those options")
  }
}

struct CheckpointOptions: ParsableArguments {
  @Option(help: "Checkpoint into --run-dir every N steps, or every N epochs as `Nepoch` (default with --run-dir: 1epoch; 0: never). The checkpoint is removed when the run finishes.")
  var checkpointEvery: String?

  @Option(help: "Go on with the run whose checkpoint is in DIR (its --run-dir), exactly where it stopped. Alone, the other options come from the checkpoint.")
  var resume: String?

  func validate() throws {
    if let checkpointEvery, CheckpointPolicy(checkpointEvery) == nil {
      throw ValidationError("--checkpoint-every: expected steps (500), epochs (2epoch) or 0, got \(checkpointEvery)")
    }
  }

  /// The checkpoint to go on from, after checking it was made by these arguments.
  func resumedState(runDirectory: String?) throws -> TrainingState? {
    guard let resume else { return nil }
    let state = try Checkpoint.read(directory: resume)
    let stored = try CheckpointSession.arguments(of: state)
    let given = Invocation.withoutResume(Invocation.arguments)
    guard Invocation.withoutPresentation(stored) == Invocation.withoutPresentation(given) else {
      throw Invocation.otherOptions(resuming: resume, stored: stored)
    }
    let standardized = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.path }
    guard let runDirectory, standardized(runDirectory) == standardized(resume) else {
      throw ValidationError("--resume \(resume): the run's directory is \(runDirectory ?? "not set"); resume from there")
    }
    return state
  }

  /// Opens the run log (cut back to the checkpoint's length when resuming) and the session.
  func session(
    runDirectory: String?, stepsPerEpoch: Int, stages: [(name: String, epochs: Int)], progress: Progress
  ) throws -> (log: RunLog?, session: CheckpointSession) {
    let resumed = try resumedState(runDirectory: runDirectory)
    let log = try runDirectory.map { try RunLog.open(directory: $0, resuming: resumed) }
    let policy = checkpointEvery.flatMap(CheckpointPolicy.init) ?? .epochs(1)
    let session = try CheckpointSession(
      directory: runDirectory, policy: policy, arguments: Invocation.withoutResume(Invocation.arguments), log: log,
      resumed: resumed, stepsPerEpoch: stepsPerEpoch, stages: stages)
    session.onStep = { progress.step(stage: $0, $1) }
    if let resumed, let at = session.resumedAt { progress.say("resuming from \(resumed.source): \(at)") }
    return (log, session)
  }
}
