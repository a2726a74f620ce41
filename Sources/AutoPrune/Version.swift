public enum AutoPruneVersion { public static let string = "0.1.0" }
