import FoundationEssentials
import Glibc
import Platform

/// A small state file replaced atomically: written beside, synced, renamed, its directory synced, so a crash
/// leaves the old file or the new one and never half of either. Mode 0600 in a 0700 directory.
enum AtomicFile {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func replace(_ path: String, with bytes: [UInt8]) -> Result<Void, Failure> {
        let directory = Files.directory(of: path)
        do {
            try Files.makeDirectories(directory, mode: 0o700)
        } catch {
            return .failure(Failure(description: "cannot create \(directory): \(error)"))
        }
        let temporary = path + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return .failure(Failure(description: "cannot write \(temporary): \(String(cString: strerror(errno)))")) }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let message = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                return .failure(Failure(description: "cannot write \(temporary): \(message)"))
            }
            written += n
        }
        // The mode of a file that existed before O_CREAT is kept: make sure it is 0600.
        fchmod(fd, 0o600)
        let synced = fsync(fd) == 0
        close(fd)
        guard synced, rename(temporary, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temporary)
            return .failure(Failure(description: "cannot replace \(path): \(message)"))
        }
        let dirfd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
        return .success(())
    }

    /// The file's bytes; nil when it does not exist.
    static func read(_ path: String) -> Result<Data?, Failure> {
        do {
            return .success(try Files.read(path).map { Data($0) })
        } catch {
            return .failure(Failure(description: "cannot read \(path): \(error)"))
        }
    }
}
