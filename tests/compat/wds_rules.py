"""Helpers the compatibility checks share: WebDataset's sample grouping rule and XXH3
through the system libxxhash. Independent of shardpack's own code on purpose: these are
the readers' rules, written from their documentation, to check our output against.
"""
import ctypes
import ctypes.util


def group_samples(names):
    """Group tar member names into WebDataset samples, in archive order.

    The rule webdataset, wids and DALI share: a member's key is its path up to the first
    '.' of its last path component, and the rest is its extension, which may itself
    contain dots ("a/b.seg.png" -> key "a/b", extension "seg.png").  A sample is a run of
    consecutive members with the same key; a key that reappears after another key is an
    interleaved sample, which those readers would split into two partial samples.  Names
    whose last component has no '.' are not sample members (readers skip them).

    Returns (samples, problems): samples is a list of (key, {extension: member name});
    problems is a list of messages for interleaved keys, repeated extensions within a
    sample and names without an extension.
    """
    samples, problems = [], []
    seen = set()
    for name in names:
        head, _, last = name.rpartition("/")
        if "." not in last:
            problems.append(f"member {name!r} has no extension (readers skip it)")
            continue
        stem, ext = last.split(".", 1)
        key = f"{head}/{stem}" if head else stem
        if samples and samples[-1][0] == key:
            exts = samples[-1][1]
            if ext in exts:
                problems.append(f"sample {key!r} has extension {ext!r} twice")
            exts[ext] = name
            continue
        if key in seen:
            problems.append(f"sample {key!r} reappears after other samples (interleaved)")
        seen.add(key)
        samples.append((key, {ext: name}))
    return samples, problems


def load_xxhash():
    """(xxh3_128_file, xxh3_64_bytes) from the system libxxhash, or (None, None).

    Debian ships no Python xxhash, but libxxhash0 comes with shardpack's own build
    dependencies, so ctypes avoids a package from outside Debian.
    """
    name = ctypes.util.find_library("xxhash") or "libxxhash.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None, None

    class Hash128(ctypes.Structure):
        _fields_ = [("low64", ctypes.c_uint64), ("high64", ctypes.c_uint64)]

    lib.XXH3_createState.restype = ctypes.c_void_p
    lib.XXH3_freeState.argtypes = [ctypes.c_void_p]
    lib.XXH3_128bits_reset.argtypes = [ctypes.c_void_p]
    lib.XXH3_128bits_update.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.XXH3_128bits_digest.argtypes = [ctypes.c_void_p]
    lib.XXH3_128bits_digest.restype = Hash128
    lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.XXH3_64bits.restype = ctypes.c_uint64

    def xxh3_128_file(path):
        state = lib.XXH3_createState()
        if not state:
            raise MemoryError("XXH3_createState")
        try:
            lib.XXH3_128bits_reset(state)
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    lib.XXH3_128bits_update(state, chunk, len(chunk))
            h = lib.XXH3_128bits_digest(state)
        finally:
            lib.XXH3_freeState(state)
        return f"{h.high64:016x}{h.low64:016x}"  # canonical (xxhsum -H2) order

    def xxh3_64(data):
        return lib.XXH3_64bits(data, len(data))

    return xxh3_128_file, xxh3_64
