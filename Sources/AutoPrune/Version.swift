/// The library's version as `string`, which `autoprune info` reports.
public enum AutoPruneVersion { public static let string = "0.1.0" }
