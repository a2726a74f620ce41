#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The processor as `/proc/cpuinfo` names it, for timings that must say where they ran.
public enum CPUDescription {
  /// "model name (family F, model M)" on Linux x86-64, the model name alone where the family is
  /// not given, "unknown" where there is no /proc/cpuinfo.
  public static let summary: String = {
    guard let text = try? readCPUInfo() else { return "unknown" }
    var fields: [String: String] = [:]
    for line in text.split(separator: "\n") {
      if line.isEmpty { break }  // the first processor is enough
      let parts = line.split(separator: ":", maxSplits: 1).map { String($0).trimmingSpaces() }
      if parts.count == 2, fields[parts[0]] == nil { fields[parts[0]] = parts[1] }
    }
    let name = fields["model name"] ?? fields["Model"] ?? fields["CPU part"].map { "CPU part \($0)" } ?? "unknown"
    if let family = fields["cpu family"], let model = fields["model"] { return "\(name) (family \(family), model \(model))" }
    return name
  }()

  private static func readCPUInfo() throws -> String {
    guard let file = fopen("/proc/cpuinfo", "r") else { throw CPUInfoMissing() }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while bytes.count < 1 << 16 {
      let count = fread(&buffer, 1, buffer.count, file)
      if count <= 0 { break }
      bytes += buffer[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  private struct CPUInfoMissing: Error {}
}
