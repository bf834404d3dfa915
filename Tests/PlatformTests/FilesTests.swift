import Foundation
import Glibc
import Testing

@testable import Platform

@Suite struct FilesTests {
    /// What NSString's deletingLastPathComponent, which the daemon used before, gives for each (printed one at a
    /// time: called from the parallel test cases it traps in swift-corelibs-foundation 6.3.1, and on "" always).
    @Test(arguments: [
        ("/a/b", "/a"), ("/a", "/"), ("/", "/"), ("a", ""), ("a/b", "a"), ("a/b/", "a"), ("/a/b//", "/a"), ("//a", "/"),
        ("a//b", "a"), ("./x", "."), ("", ""), ("/var/lib/directord/overrides.json", "/var/lib/directord"),
    ])
    func directoryIsWhatNSStringGave(path: String, directory: String) {
        #expect(Files.directory(of: path) == directory)
    }

    @Test func makeDirectoriesCreatesEveryMissingLevelWithTheMode() throws {
        let root = try Self.scratch()
        let deep = root + "/x/y/z"
        try Files.makeDirectories(deep, mode: 0o700)
        var info = stat()
        #expect(stat(deep, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR)
        #expect(info.st_mode & 0o777 == 0o700)
        try Files.makeDirectories(deep, mode: 0o700)  // existing: nothing to do
    }

    @Test func makeDirectoriesNamesTheCallAndPathWhenAFileIsInTheWay() throws {
        let root = try Self.scratch()
        let file = root + "/plain"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        #expect(throws: SystemError(call: "mkdir", errno: ENOTDIR, detail: file)) { try Files.makeDirectories(file, mode: 0o700) }
        #expect(throws: SystemError(call: "mkdir", errno: ENOTDIR, detail: file)) {  // the file, not the path asked for
            try Files.makeDirectories(file + "/sub", mode: 0o700)
        }
    }

    @Test func readGivesTheBytesOrNilForAMissingFile() throws {
        let root = try Self.scratch()
        let big = [UInt8]((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })  // more than one read
        try Data(big).write(to: URL(fileURLWithPath: root + "/big"))
        #expect(try Files.read(root + "/big") == big)
        try Data().write(to: URL(fileURLWithPath: root + "/empty"))
        #expect(try Files.read(root + "/empty") == [])
        #expect(try Files.read(root + "/missing") == nil)
        #expect(throws: SystemError(call: "open", errno: ENOTDIR, detail: root + "/big/x")) { try Files.read(root + "/big/x") }
    }

    static func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "files-tests-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

@Suite struct OSThreadTests {
    @Test func runsTheBodyOnANamedThreadOfItsOwn() async throws {
        let (name, sameThread): (String, Bool) = try await withCheckedThrowingContinuation { continuation in
            let caller = pthread_self()
            do {
                try OSThread.start(name: "directord-test") {
                    let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                    continuation.resume(returning: (comm.trimmingWhitespace(), pthread_equal(pthread_self(), caller) != 0))
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
        #expect(name == "directord-test")
        #expect(!sameThread)
    }
}

@Suite struct StandardErrorTests {
    @Test func writesEveryByteToDescriptor2() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        let saved = dup(2)
        dup2(fds[1], 2)
        StandardError.write("directord: one line\n")
        StandardError.write("")
        dup2(saved, 2)
        close(saved)
        close(fds[1])
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(fds[0], &buffer, buffer.count)
        close(fds[0])
        // Tests running beside this one may write to descriptor 2 meanwhile: the line must be there, whole.
        #expect(String(decoding: buffer[0..<max(n, 0)], as: UTF8.self).contains("directord: one line\n"))
    }
}
