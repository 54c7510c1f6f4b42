/// First-fit allocation straight from the bitmap.
///
/// Single frames come from the lowest free frame; the bitmap's free hint
/// remembers the lowest word that can hold one so a long run of full words is
/// not scanned again on every call.
public struct BitmapAllocator: FrameAllocator {
    public private(set) var bitmap: FrameBitmap
    public private(set) var freeCount: Int

    public init(frames: Int, reserved: Int) {
        bitmap = FrameBitmap(frames: frames, reserved: reserved)
        freeCount = frames - reserved
    }

    public mutating func allocate(count: Int) -> FrameNumber? {
        guard count <= freeCount else { return nil }
        if count == 1 {
            guard let f = bitmap.lowestFree() else { return nil }
            bitmap.setUsed(f)
            freeCount -= 1
            return FrameNumber(f)
        }
        guard let f = bitmap.firstFit(count: count) else { return nil }
        bitmap.setUsed(f, count: count)
        freeCount -= count
        return FrameNumber(f)
    }

    public mutating func free(_ base: FrameNumber, count: Int) {
        bitmap.setFree(base.index, count: count)
        freeCount += count
    }

    public func invariantViolation() -> String? {
        let counted = bitmap.freeCount
        if counted != freeCount { return "bitmap allocator: free count \(freeCount) but the bitmap has \(counted) free frames" }
        if let f = bitmap.firstFree(fromWord: 0), f >> 6 < bitmap.freeHint {
            return "bitmap allocator: search hint word \(bitmap.freeHint) skips free frame \(f)"
        }
        return nil
    }
}
