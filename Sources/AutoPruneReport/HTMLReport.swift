import AutoPrune
import AutoPrunePlot
import Foundation

/// One self-contained HTML page for a set of runs: no scripts, no network (a Content-Security-
/// Policy forbids both), every chart inline SVG from `AutoPrunePlot`, colours that follow the
/// reader's light or dark setting.
public enum HTMLReport {
  /// Writes the report of the runs found under `paths` (run directories, or directories holding
  /// them) to `destination` atomically; `warnings` gets the log lines that could not be read.
  /// Returns the runs and the page's size in bytes.
  @discardableResult
  public static func write(
    runs paths: [String], to destination: String, title: String = "AutoPrune report", warnings: inout [String]
  ) throws -> (runs: [RunRecord], bytes: Int) {
    let records = try RunRecord.discover(paths, warnings: &warnings)
    let html = page(records, title: title)
    try AtomicFile.write(Array(html.utf8), to: destination)
    return (records, html.utf8.count)
  }

  /// The whole page for `runs`, in their order: overview table, compression–accuracy chart (when a
  /// run has both figures) and one card per run. `write` saves it; tests read it directly.
  public static func page(_ runs: [RunRecord], title: String = "AutoPrune report") -> String {
    var body = "<header><h1>\(SVG.escape(title))</h1><p class=\"muted\">\(runs.count) run\(runs.count == 1 ? "" : "s")"
    let unfinished = runs.filter { !$0.finished }.count
    if unfinished > 0 { body += ", \(unfinished) without a summary (still running or stopped): shown from their logs" }
    body += "</p></header>"
    body += overviewTable(runs)
    if let scatter = tradeOff(runs) { body += "<section id=\"trade-off\"><h2>Compression vs accuracy</h2>\(scatter)</section>" }
    body += "<section id=\"runs\"><h2>Runs</h2>"
    for (i, run) in runs.enumerated() { body += card(run, index: i) }
    body += "</section>"
    return """
      <!doctype html>
      <html lang="en"><head><meta charset="utf-8">
      <meta name="viewport" content="width=device-width, initial-scale=1">
      <meta name="color-scheme" content="light dark">
      <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
      <title>\(SVG.escape(title))</title>
      <style>\(css)</style></head>
      <body>\(body)</body></html>

      """
  }

  static let css = """
    :root{--fg:#1d1d1f;--bg:#fff;--muted:#5c6067;--grid:#e4e4e7;--frame:#8d9299;--card:#f6f6f7;--track:#e6e6e9;--line:#d7d7db}
    @media (prefers-color-scheme: dark){:root{--fg:#e8e9eb;--bg:#141518;--muted:#a5aab1;--grid:#2c2e33;--frame:#6f747c;--card:#1d1e22;--track:#2b2d32;--line:#3a3c42}}
    body{margin:0 auto;max-width:1180px;padding:24px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
    h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:28px 0 10px}h3{font-size:16px;margin:0 0 8px}
    .muted{color:var(--muted)}table{border-collapse:collapse;font-variant-numeric:tabular-nums}
    th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:right}th:first-child,td:first-child{text-align:left}
    .card{background:var(--card);border-radius:8px;padding:16px;margin:0 0 18px}
    .charts{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
    svg{max-width:100%;height:auto}svg text{fill:var(--fg);font:12px system-ui,sans-serif}
    svg .title{font-weight:600;font-size:13px}svg .tick,svg .legend{fill:var(--muted);font-size:11px}svg .legend{fill:var(--fg)}
    svg .axis-label{fill:var(--muted)}svg .grid{stroke:var(--grid)}svg .frame{fill:none;stroke:var(--frame)}
    svg .series{stroke-width:2;stroke-linejoin:round}svg .point-label{fill:var(--muted);font-size:10.5px}svg .track{fill:var(--track)}svg .marker{stroke:var(--bg);stroke-width:1}
    svg .unit-total{fill:none;stroke:var(--frame)}svg .edge{stroke:var(--frame);stroke-opacity:.5}
    pre,code{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:10px;overflow-x:auto;white-space:pre-wrap}
    details{margin-top:8px}
    """

  static func percent(_ x: Double?) -> String { x.map { String(format: "%.2f%%", 100 * $0) } ?? "–" }

  static func overviewTable(_ runs: [RunRecord]) -> String {
    var rows = ""
    for run in runs {
      let delta = zip2(run.testAccuracy, run.denseAccuracy).map { String(format: "%+.2f", 100 * ($0 - $1)) } ?? "–"
      rows += "<tr><td><a href=\"#run-\(anchor(run.name))\">\(SVG.escape(run.name))</a></td><td>\(SVG.escape(run.model ?? "?"))</td><td>\(SVG.escape(run.method))</td>"
        + "<td>\(percent(run.testAccuracy))</td><td>\(delta)</td><td>\(run.compression.map { String(format: "%.1f×", $0) } ?? "–")</td>"
        + "<td>\(percent(run.flopsFraction))</td><td>\(SVG.escape(run.architecture ?? "–"))</td></tr>"
    }
    return "<section id=\"overview\"><h2>Overview</h2><table><thead><tr><th>run</th><th>model</th><th>method</th><th>test accuracy</th><th>Δ vs dense (points)</th><th>compression</th><th>FLOPs kept</th><th>architecture</th></tr></thead><tbody>\(rows)</tbody></table></section>"
  }

  static func zip2(_ a: Double?, _ b: Double?) -> (Double, Double)? {
    guard let a, let b else { return nil }
    return (a, b)
  }

  /// Fragment-safe id for a run name.
  static func anchor(_ name: String) -> String {
    String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" })
  }

  /// Test accuracy against compression (log axis), one mark per run, methods told apart by shape
  /// and colour, run names beside the marks (up to 16 runs), and for each model the Pareto
  /// front: its runs that no other run of that model beats on both (ringed, joined by steps).
  static func tradeOff(_ runs: [RunRecord]) -> String? {
    let points = runs.compactMap { r -> (method: String, model: String, name: String, x: Double, y: Double)? in
      guard let c = r.compression, let a = r.testAccuracy, c > 0 else { return nil }
      return (r.method, r.model ?? "?", r.name, c, 100 * a)
    }
    guard !points.isEmpty else { return nil }
    var chart = XYChart(title: "Test accuracy vs compression (one point per run)", xLabel: "compression (weights / kept weights, log scale)", yLabel: "test accuracy (%)")
    chart.width = 900
    chart.height = 400
    chart.xKind = .log
    let methods = Array(Set(points.map(\.method))).sorted()
    let labelled = points.count <= 16
    for (i, m) in methods.enumerated() {
      let mine = points.filter { $0.method == m }
      chart.series.append(.init(name: m, color: Palette.color(i), points: mine.map { ($0.x, $0.y) }, line: false,
                                marker: XYChart.Marker.shapes[i % XYChart.Marker.shapes.count], labels: labelled ? mine.map(\.name) : nil))
    }
    let models = Array(Set(points.map(\.model))).sorted()
    for model in models {
      let front = paretoFront(points.filter { $0.model == model }.map { ($0.x, $0.y) })
      chart.series.append(.init(name: models.count > 1 ? "Pareto front, \(model)" : "Pareto front", color: "#8a8a8a", points: front,
                                line: front.count > 1, marker: .ring, dashed: true, steps: true))
    }
    return chart.render(idPrefix: "tradeoff")
  }

  /// Points not dominated (another with ≥ compression and ≥ accuracy, one of them strictly),
  /// by rising compression.
  public static func paretoFront(_ points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
    let sorted = points.sorted { $0.x != $1.x ? $0.x > $1.x : $0.y > $1.y }
    var front: [(x: Double, y: Double)] = []
    var best = -Double.infinity
    for p in sorted where p.y > best {
      front.append(p)
      best = p.y
    }
    return front.reversed()
  }

  static func card(_ run: RunRecord, index: Int) -> String {
    let id = "r\(index)"
    var html = "<article class=\"card\" id=\"run-\(anchor(run.name))\"><h3>\(SVG.escape(run.name))</h3>"
    html += "<p class=\"muted\">\(SVG.escape(run.model ?? "?")) · \(SVG.escape(run.method))"
    if let s = run.summary?.summary { html += " · \(SVG.escape(s))" }
    if !run.finished { html += " · <strong>no summary yet</strong>" }
    html += "</p><div class=\"charts\">"
    html += curves(run, id: id)
    if let kept = keptCurve(run, id: id) { html += kept }
    if let bars = layerBars(run, id: id) { html += bars }
    if let diagram = ArchitectureDiagram(run: run)?.render(idPrefix: "\(id)-arch") { html += diagram }
    if let counts = run.inputConnections {
      var map = HeatMap(title: "Input pixels fc1 still reads", rows: 28, columns: 28, values: counts, legendLabel: "links")
      map.cell = 9
      html += map.render(idPrefix: "\(id)-heat")
    }
    html += "</div>"
    if let command = run.commandLine { html += "<details open><summary>Command</summary><pre><code>\(SVG.escape(command))</code></pre></details>" }
    if let recipe = run.recipe { html += "<details><summary>Recipe</summary><pre><code>\(SVG.escape(recipe))</code></pre></details>" }
    return html + "</article>"
  }

  /// Train and test accuracy over all epochs of the run, phases in order, each phase its colour.
  static func curves(_ run: RunRecord, id: String) -> String {
    var chart = XYChart(title: "Accuracy by epoch", xLabel: "epoch (all phases)", yLabel: "accuracy (%)")
    chart.width = 520
    chart.height = 280
    var phases: [(String, [(x: Double, y: Double)], [(x: Double, y: Double)])] = []
    for (i, e) in run.epochs.enumerated() {
      let phase = e.phase
      if phases.last?.0 != phase { phases.append((phase, [], [])) }
      let x = Double(i + 1)
      if let t = e.testAccuracy { phases[phases.count - 1].1.append((x, 100 * t)) }
      if let t = e.trainAccuracy { phases[phases.count - 1].2.append((x, 100 * t)) }
    }
    let order = ["dense", "prune", "finetune"]
    for (phase, test, train) in phases {
      let color = Palette.color(order.firstIndex(of: phase) ?? 3)
      chart.series.append(.init(name: "\(phase) test", color: color, points: test, marker: test.count == 1 ? .circle : nil))
      chart.series.append(.init(name: "\(phase) train", color: color, points: train, dashed: true))
    }
    // One legend entry per phase and kind is enough: later segments of the same phase repeat names.
    var seen = Set<String>()
    for i in chart.series.indices {
      if seen.contains(chart.series[i].name) { chart.series[i].name = "" } else { seen.insert(chart.series[i].name) }
    }
    if run.epochs.isEmpty { chart.series = [] }
    // Accuracy never exceeds 100%: the axis stops there.
    let lowest = chart.series.flatMap { $0.points.map(\.y) }.min() ?? 0
    chart.yDomain = (max(0, floor((lowest - 2) / 10) * 10), 100)
    chart.xDomain = (0, Double(max(1, run.epochs.count)))
    return chart.render(idPrefix: "\(id)-acc")
  }

  /// Kept weights and kept FLOPs (%, log scale) over the pruning epochs.
  static func keptCurve(_ run: RunRecord, id: String) -> String? {
    var kept: [(x: Double, y: Double)] = [], flops: [(x: Double, y: Double)] = []
    for (i, e) in run.epochs.enumerated() {
      if let k = e.keptFraction { kept.append((Double(i + 1), 100 * k)) }
      if let f = e.flopsFraction { flops.append((Double(i + 1), 100 * f)) }
    }
    guard !kept.isEmpty else { return nil }
    var chart = XYChart(title: "Kept weights and FLOPs by epoch", xLabel: "epoch (all phases)", yLabel: "kept (%, log scale)")
    chart.width = 520
    chart.height = 280
    chart.yKind = .log
    chart.xDomain = (0, Double(max(1, run.epochs.count)))
    chart.series = [
      .init(name: "weights", color: Palette.color(0), points: kept),
      .init(name: "FLOPs", color: Palette.color(1), points: flops, dashed: true),
    ]
    return chart.render(idPrefix: "\(id)-kept")
  }

  /// Per-layer kept fraction from the summary (or the last log line of a run still going).
  static func layerBars(_ run: RunRecord, id: String) -> String? {
    var items: [(label: String, value: Double, detail: String)] = []
    if !run.perLayer.isEmpty {
      for layer in run.perLayer where layer.weights > 0 {
        let (k, w) = (Double(layer.keptWeights), Double(layer.weights))
        items.append((layer.name, k / w, String(format: "%.2f%% of %.0f", 100 * k / w, w)))
      }
    } else if let perLayer = run.epochs.last?.perLayerKept {
      for (name, v) in perLayer.sorted(by: { $0.key < $1.key }) where v.isFinite {
        items.append((name, v, String(format: "%.2f%%", 100 * v)))
      }
    }
    guard !items.isEmpty else { return nil }
    var chart = BarChart(title: "Weights kept per layer", items: items)
    chart.width = 440
    return chart.render(idPrefix: "\(id)-bars")
  }
}
