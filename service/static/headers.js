// Read reference sequence names and lengths from BAM and VCF headers, so the
// page can give igv.js a reference that matches the object without a FASTA.

// The length given to a contig that a VCF header names without a length.
// BAI and TBI bins address positions below 2^29.
export const UNKNOWN_CONTIG_LENGTH = 2 ** 29;

const BGZF_HEADER_BYTES = 18;
const BGZF_FOOTER_BYTES = 8;

/** Inflate concatenated BGZF blocks (each one a complete gzip member). */
export async function inflateBgzf(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts = [];
  let offset = 0;
  while (offset + BGZF_HEADER_BYTES + BGZF_FOOTER_BYTES <= bytes.length) {
    if (bytes[offset] !== 0x1f || bytes[offset + 1] !== 0x8b) {
      throw new Error(`the header data is not BGZF: no gzip magic at byte ${offset}`);
    }
    // BSIZE (total block size minus one) is the first extra subfield of every BGZF block.
    const blockSize = view.getUint16(offset + 16, true) + 1;
    const member = bytes.subarray(offset, offset + blockSize);
    const stream = new Blob([member]).stream().pipeThrough(new DecompressionStream("gzip"));
    parts.push(new Uint8Array(await new Response(stream).arrayBuffer()));
    offset += blockSize;
  }
  return concatBytes(parts);
}

/** Return the concatenation of byte arrays. */
export function concatBytes(parts) {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** Parse the reference list of an inflated BAM header into [{name, length}]. */
export function bamContigs(data) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const magic = String.fromCharCode(...data.subarray(0, 4));
  if (magic !== "BAM\u0001") {
    throw new Error("the header data does not start with the BAM magic bytes");
  }
  let offset = 8 + view.getInt32(4, true);
  const count = view.getInt32(offset, true);
  offset += 4;
  const decoder = new TextDecoder();
  const contigs = [];
  for (let i = 0; i < count; i++) {
    const nameLength = view.getInt32(offset, true);
    const name = decoder.decode(data.subarray(offset + 4, offset + 4 + nameLength - 1));
    const length = view.getInt32(offset + 4 + nameLength, true);
    contigs.push({ name, length });
    offset += 8 + nameLength;
  }
  return contigs;
}

/** Parse the ##contig lines of an inflated VCF header into [{name, length}]. */
export function vcfContigs(data) {
  const text = new TextDecoder().decode(data);
  const contigs = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#CHROM")) {
      break;
    }
    if (!line.startsWith("##contig=<")) {
      continue;
    }
    const name = /[<,]ID=([^,>]+)/.exec(line);
    const length = /[<,]length=(\d+)/.exec(line);
    if (name) {
      contigs.push({ name: name[1], length: length ? Number(length[1]) : UNKNOWN_CONTIG_LENGTH });
    }
  }
  return contigs;
}

/** Merge contig lists by name, keeping the first order seen and the longest length. */
export function mergeContigs(lists) {
  const merged = new Map();
  for (const list of lists) {
    for (const { name, length } of list) {
      merged.set(name, Math.max(length, merged.get(name) ?? 0));
    }
  }
  return [...merged].map(([name, length]) => ({ name, length }));
}
