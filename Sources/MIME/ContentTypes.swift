/// Media types from file extensions, and the media-type grammar of RFC 2045 section 5.1.
public enum ContentTypes {
    /// The type for an unknown extension.
    public static let fallback = "application/octet-stream"

    private static let byExtension: [String: String] = [
        // Documents
        "pdf": "application/pdf", "txt": "text/plain", "text": "text/plain", "csv": "text/csv",
        "tsv": "text/tab-separated-values", "htm": "text/html", "html": "text/html", "md": "text/markdown",
        "rtf": "application/rtf", "xml": "application/xml", "json": "application/json",
        "ics": "text/calendar", "vcf": "text/vcard", "eml": "message/rfc822",
        "doc": "application/msword",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls": "application/vnd.ms-excel",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt": "application/vnd.ms-powerpoint",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt": "application/vnd.oasis.opendocument.text",
        "ods": "application/vnd.oasis.opendocument.spreadsheet",
        "odp": "application/vnd.oasis.opendocument.presentation",
        "epub": "application/epub+zip",
        // Images
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
        "webp": "image/webp", "svg": "image/svg+xml", "bmp": "image/bmp", "ico": "image/vnd.microsoft.icon",
        "tif": "image/tiff", "tiff": "image/tiff", "heic": "image/heic", "avif": "image/avif",
        // Audio and video
        "mp3": "audio/mpeg", "wav": "audio/wav", "ogg": "audio/ogg", "m4a": "audio/mp4",
        "mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "avi": "video/x-msvideo",
        // Archives
        "zip": "application/zip", "gz": "application/gzip", "tgz": "application/gzip", "tar": "application/x-tar",
        "7z": "application/x-7z-compressed", "rar": "application/vnd.rar",
        // Other
        "js": "text/javascript", "css": "text/css", "yaml": "application/yaml", "yml": "application/yaml",
        "woff": "font/woff", "woff2": "font/woff2", "ttf": "font/ttf", "otf": "font/otf",
    ]

    /// The media type for a file name by its last extension, case-insensitively.
    public static func forFilename(_ filename: String) -> String {
        guard let dot = filename.lastIndex(of: "."), dot != filename.startIndex else { return fallback }
        return byExtension[filename[filename.index(after: dot)...].lowercased()] ?? fallback
    }

    /// Whether `value` is exactly `type/subtype`, both RFC 2045 tokens.
    public static func isValidMediaType(_ value: String) -> Bool {
        let sides = value.split(separator: "/", omittingEmptySubsequences: false)
        return sides.count == 2 && sides.allSatisfy { side in
            !side.isEmpty && side.utf8.count <= 127 && side.utf8.allSatisfy(isTokenCharacter)
        }
    }

    /// RFC 2045 `token`: printable ASCII except space and `tspecials`.
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        guard byte > 0x20 && byte < 0x7F else { return false }
        return !"()<>@,;:\\\"/[]?=".utf8.contains(byte)
    }
}
