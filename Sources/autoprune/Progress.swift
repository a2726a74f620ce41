import AutoPrune
import ArgumentParser
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// `--quiet`: no progress (results, errors and warnings still print).
struct ProgressOptions: ParsableArguments {
  @Flag(help: "No progress output: only the final result lines (and --json) on stdout; warnings and errors on stderr.")
  var quiet = false
}

/// What a person watching `train` or `prune` sees. On a terminal, one live line per phase
/// (epoch, step/total, running loss and accuracy, kept %, images/s, ETA) redrawn in place at most
/// ten times a second, replaced by the epoch's summary line when it ends; on a pipe or file (CI,
/// logs) only the epoch lines; with `--quiet` nothing.
final class Progress {
  enum Mode { case live, lines, quiet }

  let mode: Mode
  private let stages: [String: Int]
  private let stepsPerEpoch: Int
  private let batchSize: Int
  private let samples: Int
  /// Kept fraction of the weights now (pruning phases), read only when a line is drawn.
  var kept: (() -> Float?)?
  private var stage = ""
  private var stageStart = Date()
  private var stepsAtStart = 0
  private var lastDraw = Date.distantPast
  private var drawn = false

  init(quiet: Bool, stages: [(name: String, epochs: Int)] = [], stepsPerEpoch: Int = 1, batchSize: Int = 1, samples: Int = 1) {
    mode = quiet ? .quiet : isatty(STDOUT_FILENO) != 0 ? .live : .lines
    self.stages = Dictionary(stages.map { ($0.name, $0.epochs) }, uniquingKeysWith: { a, _ in a })
    self.stepsPerEpoch = stepsPerEpoch
    self.batchSize = min(batchSize, max(1, samples))  // a batch is never more than the data set
    self.samples = samples
  }

  /// A line of information (headers, notes): printed unless quiet.
  func say(_ text: String) {
    guard mode != .quiet else { return }
    clear()
    print(text)
  }

  /// An epoch's summary line.
  func epoch(_ text: String) { say(text) }

  /// After an optimizer step of stage `name`.
  func step(stage name: String, _ p: TrainingPosition) {
    guard mode == .live else { return }
    let done = p.epoch * stepsPerEpoch + p.step
    if name != stage {
      stage = name
      stageStart = Date()
      stepsAtStart = done - 1  // a resumed stage: rate and ETA from what this process ran
    }
    let now = Date()
    guard now.timeIntervalSince(lastDraw) >= 0.1 || p.step == stepsPerEpoch else { return }
    lastDraw = now
    let epochs = stages[name] ?? 0
    let seen = min(samples, p.step * batchSize)
    let elapsed = now.timeIntervalSince(stageStart), ran = max(1, done - stepsAtStart)
    let remaining = max(0, epochs * stepsPerEpoch - done)
    var line = String(format: "%@ %ld/%ld  step %ld/%ld  loss %.4f  acc %.2f%%", name, p.epoch + 1, epochs, p.step, stepsPerEpoch,
                      p.lossSum / Double(max(1, seen)), 100 * Double(p.correct) / Double(max(1, seen)))
    if let k = kept?() { line += String(format: "  kept %.2f%%", 100 * k) }
    if elapsed > 0.2 {
      line += String(format: "  %.0f img/s  ETA %@", Double(ran * batchSize) / elapsed, Progress.duration(elapsed / Double(ran) * Double(remaining)))
    }
    FileHandle.standardOutput.write(Data(("\r" + line + "\u{1B}[K").utf8))
    drawn = true
  }

  /// Erases the live line so the next text starts on a clean line.
  private func clear() {
    guard drawn else { return }
    FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8))
    drawn = false
  }

  /// `1:05` (m:ss) or `1:02:03` (h:mm:ss).
  static func duration(_ seconds: Double) -> String {
    let s = Int(seconds.isFinite ? min(max(0, seconds.rounded()), 1e12) : 0)
    return s >= 3600 ? String(format: "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60) : String(format: "%ld:%02ld", s / 60, s % 60)
  }
}
