package files

// What it costs to decode an uploaded image, known before decoding it.
//
// Avatars and images are decoded whole to check them: a file whose header
// is fine but whose pixels are truncated or corrupt is refused, instead of
// reaching every member of a conversation as a broken picture. Parley
// serves the uploaded bytes as they are and makes no thumbnails, so the
// decode only validates, and it is worth its memory only when that memory
// is bounded. Serious image handling bounds the work by what the header
// announces before decoding (Pillow refuses images over MAX_IMAGE_PIXELS
// when it opens them, Synapse's max_image_pixels relies on that); Parley
// does the same, with the memory the decoder will allocate rather than the
// pixel count alone: a 304 KB PNG of 6324×6324 16-bit RGBA pixels is under
// 40 megapixels, yet decodes to 320 MB.
//
// So checkImage reads the header (image.DecodeConfig, and the few fields the
// standard decoders act on that it does not report: PNG interlacing and
// transparency, the JPEG frame type, sampling factors and Adobe transform,
// the WebP payload), computes decodeCost, refuses an image over the budget
// with IMAGE_TOO_LARGE, and only then decodes, holding one of a few decode
// slots. Memory spent decoding is therefore at most slots × budget,
// whatever arrives, but for the one term below.
//
// decodeCost is an upper bound of what the decoders of the standard library
// and golang.org/x/image allocate, checked against their measured
// allocations by TestDecodeCost. It counts what grows with the pixels: the
// decoded image, its working copies (interlace passes, progressive JPEG
// coefficients, colour conversions), row buffers, plus the encoded size and
// a fixed allowance for tables. One term it cannot know from the header is
// the Huffman tables of a lossless WebP, which its pixels do not bound:
// golang.org/x/image/vp8l caps them at 2600 groups (as libwebp does), a few
// megabytes for real images and, by its tree sizes, up to about 140 MB for
// a hostile one; the decode slots bound how many run at once.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"io"
)

// decoderOverhead is the fixed allowance of one decode: decoder state,
// Huffman, zlib and LZW tables, read buffers, a VP8 first partition (at most
// 512 KiB).
const decoderOverhead = 1 << 20

// errHeader is a header the estimate cannot read; image.DecodeConfig
// accepted it, so the image is damaged.
var errHeader = errors.New("files: unreadable image header")

// decodeCost returns how many bytes decoding the image of the given format
// and header takes at most. r holds the whole file (size bytes); decodeCost
// leaves it anywhere.
func decodeCost(r io.ReadSeeker, format string, cfg image.Config, size int64) (int64, error) {
	w, h := int64(cfg.Width), int64(cfg.Height)
	var pix int64
	switch format {
	case "png":
		layout, err := readPNGLayout(r)
		if err != nil {
			return 0, err
		}
		pix = pngCost(w, h, cfg.ColorModel, layout)
	case "jpeg":
		layout, err := readJPEGLayout(r)
		if err != nil {
			return 0, err
		}
		if layout.width != w || layout.height != h {
			return 0, errHeader
		}
		pix = jpegCost(w, h, layout)
	case "gif":
		if err := readGIFLayout(r); err != nil {
			return 0, err
		}
		// The first frame, within the logical screen, one byte per pixel,
		// and as much again to de-interlace it.
		pix = mul(2, w, h)
	case "webp":
		layout, err := readWebPLayout(r)
		if err != nil {
			return 0, err
		}
		pix = webpCost(w, h, layout)
	default:
		return 0, errHeader
	}
	return sat(sat(pix, size), decoderOverhead), nil
}

// bytesPerPixel is the size of a pixel of an image in the colour model the
// decoder produces.
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		return 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8 // unknown: the largest the standard decoders make
}

// pngLayout is what image/png decides from chunks DecodeConfig does not
// report.
type pngLayout struct {
	interlaced  bool // Adam7: each pass is an image of its own, merged into the result
	transparent bool // a tRNS chunk: gray pixels decode to NRGBA or NRGBA64
}

// readPNGLayout reads the IHDR interlace method and looks for a tRNS chunk
// before the image data.
func readPNGLayout(r io.ReadSeeker) (pngLayout, error) {
	var l pngLayout
	c, err := openChunks(r, 8) // after the signature
	if err != nil {
		return l, err
	}
	for {
		if err := c.next(); err != nil {
			return l, err
		}
		n := int64(binary.BigEndian.Uint32(c.hdr[:4])) + 4 // the data and its CRC
		switch string(c.hdr[4:]) {
		case "IHDR":
			var ihdr [13]byte
			if n != int64(len(ihdr))+4 {
				return l, errHeader
			}
			if _, err := io.ReadFull(c.br, ihdr[:]); err != nil {
				return l, errHeader
			}
			l.interlaced = ihdr[12] != 0
			n = 4
		case "tRNS":
			l.transparent = true
			return l, nil
		case "IDAT", "IEND":
			return l, nil
		}
		if err := c.skip(n); err != nil {
			return l, err
		}
	}
}

// chunks walks a file made of chunks (PNG's, RIFF's), each an 8-byte
// header and its data: next reads a header into hdr, and skip passes over
// what is left of the chunk. A file that ends early, or a chunk larger
// than a file can hold, is errHeader.
type chunks struct {
	br  *bufio.Reader
	hdr [8]byte
}

// openChunks starts walking the chunks of r at offset start.
func openChunks(r io.ReadSeeker, start int64) (*chunks, error) {
	if _, err := r.Seek(start, io.SeekStart); err != nil {
		return nil, err
	}
	return &chunks{br: bufio.NewReader(r)}, nil
}

func (c *chunks) next() error {
	if _, err := io.ReadFull(c.br, c.hdr[:]); err != nil {
		return errHeader
	}
	return nil
}

func (c *chunks) skip(n int64) error {
	if n < 0 || n > 1<<31-1 {
		return errHeader
	}
	if _, err := c.br.Discard(int(n)); err != nil {
		return errHeader
	}
	return nil
}

// readGIFLayout walks a GIF's blocks up to its first image descriptor
// without decoding any pixels: the header and logical screen descriptor,
// the global colour table, then extension blocks. A file that ends, or
// holds anything else, before a first frame has no image (errHeader).
func readGIFLayout(r io.ReadSeeker) error {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReader(r)
	var head [13]byte // "GIF89a", then width, height, flags, background, aspect
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return errHeader
	}
	if flags := head[10]; flags&0x80 != 0 {
		if _, err := br.Discard(3 << (flags&7 + 1)); err != nil {
			return errHeader
		}
	}
	for {
		b, err := br.ReadByte()
		if err != nil {
			return errHeader
		}
		switch b {
		case 0x2C: // an image descriptor: the first frame
			var desc [9]byte
			if _, err := io.ReadFull(br, desc[:]); err != nil {
				return errHeader
			}
			return nil
		case 0x21: // an extension: its label, then sub-blocks up to an empty one
			if _, err := br.ReadByte(); err != nil {
				return errHeader
			}
			for {
				n, err := br.ReadByte()
				if err != nil {
					return errHeader
				}
				if n == 0 {
					break
				}
				if _, err := br.Discard(int(n)); err != nil {
					return errHeader
				}
			}
		default: // the trailer, or not a GIF block
			return errHeader
		}
	}
}

// pngCost follows image/png: the decoded image at the bytes per pixel of
// its colour model (gray with tRNS decodes to NRGBA or NRGBA64), as much
// again for the passes of an interlaced image, and two rows.
func pngCost(w, h int64, m color.Model, l pngLayout) int64 {
	bpp := bytesPerPixel(m)
	if l.transparent {
		switch m {
		case color.GrayModel:
			bpp = 4
		case color.Gray16Model:
			bpp = 8
		}
	}
	img := mul(bpp, w, h)
	if l.interlaced {
		img = mul(2, img, 1) // the seven passes add up to one more image
	}
	// The current and previous rows, each at most a decoded row long.
	return sat(img, mul(2, sat(mul(bpp, w, 1), 1), 1))
}

// jpegLayout is the frame header (SOF) of a JPEG, and whether an Adobe
// marker may ask image/jpeg to convert it to RGB.
type jpegLayout struct {
	width, height int64
	progressive   bool
	comps         []jpegComp
	maybeRGB      bool
}

// jpegComp is a component of a JPEG frame: its identifier and sampling
// factors.
type jpegComp struct{ id, h, v byte }

// readJPEGLayout walks the segments from the start of image to the frame
// header, as image/jpeg does: DecodeConfig has walked the same bytes without
// error, so both find the same frame header. The frame header always
// precedes the image data, so the walk never enters entropy-coded bytes.
func readJPEGLayout(r io.ReadSeeker) (jpegLayout, error) {
	var l jpegLayout
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return l, err
	}
	br := bufio.NewReader(r)
	var soi [2]byte
	if _, err := io.ReadFull(br, soi[:]); err != nil || soi != [2]byte{0xFF, 0xD8} {
		return l, errHeader
	}
	for {
		// A marker: 0xFF, any number of 0xFF fill bytes, then its code.
		// image/jpeg skips stray bytes before a marker; so does this.
		b, err := br.ReadByte()
		if err != nil {
			return l, errHeader
		}
		if b != 0xFF {
			continue
		}
		for b == 0xFF {
			if b, err = br.ReadByte(); err != nil {
				return l, errHeader
			}
		}
		switch {
		case b == 0x00 || 0xD0 <= b && b <= 0xD7: // a stuffed byte, a restart marker: no length
			continue
		case b == 0x01 || b == 0xD8 || b == 0xD9: // image/jpeg refuses these before a frame header
			return l, errHeader
		}
		var lenBuf [2]byte
		if _, err := io.ReadFull(br, lenBuf[:]); err != nil {
			return l, errHeader
		}
		n := int(binary.BigEndian.Uint16(lenBuf[:])) - 2
		if n < 0 {
			return l, errHeader
		}
		switch b {
		case 0xC0, 0xC1, 0xC2: // baseline, extended, progressive: what image/jpeg decodes
			seg := make([]byte, n)
			if _, err := io.ReadFull(br, seg); err != nil || n < 6 {
				return l, errHeader
			}
			l.progressive = b == 0xC2
			l.height = int64(binary.BigEndian.Uint16(seg[1:3]))
			l.width = int64(binary.BigEndian.Uint16(seg[3:5]))
			nComp := int(seg[5])
			if nComp < 1 || nComp > 4 || n < 6+3*nComp {
				return l, errHeader
			}
			for i := range nComp {
				c := seg[6+3*i:]
				l.comps = append(l.comps, jpegComp{id: c[0], h: max(c[1]>>4, 1), v: max(c[1]&0x0F, 1)})
			}
			if nComp == 3 {
				rgb := l.comps[0].id == 'R' && l.comps[1].id == 'G' && l.comps[2].id == 'B'
				adobe, err := hasAdobeRGB(r)
				if err != nil {
					return l, err
				}
				l.maybeRGB = rgb || adobe
			}
			return l, nil
		case 0xDA: // start of scan before any frame header
			return l, errHeader
		}
		if _, err := br.Discard(n); err != nil {
			return l, errHeader
		}
	}
}

// adobeMarker starts an APP14 "Adobe" segment: marker, then a two-byte
// length, then the name.
var adobeMarker = []byte("Adobe")

// hasAdobeRGB reports whether the file may carry an APP14 Adobe segment
// whose transform is 0 ("unknown"), which image/jpeg reads as RGB samples
// and converts to a 4-byte-per-pixel RGBA image. image/jpeg honours such a
// segment anywhere before the end of image, so this searches every byte for
// FF EE, a length of at least 14 and "Adobe": a match inside other data only
// makes the estimate larger.
func hasAdobeRGB(r io.ReadSeeker) (bool, error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	const pattern = 16 // FF EE, length, "Adobe", 6 bytes, transform
	buf := make([]byte, 32<<10)
	kept := 0
	for {
		n, err := io.ReadFull(r, buf[kept:])
		n += kept
		for i := 0; i+pattern <= n; i++ {
			if buf[i] != 0xFF || buf[i+1] != 0xEE {
				continue
			}
			if binary.BigEndian.Uint16(buf[i+2:]) >= 14 && bytes.Equal(buf[i+4:i+9], adobeMarker) && buf[i+15] == 0 {
				return true, nil
			}
		}
		if err != nil { // the end of the file, or a read error: the decode will meet it too
			return false, nil
		}
		kept = copy(buf, buf[n-(pattern-1):n])
	}
}

// jpegCost follows image/jpeg: it allocates the planes of every component,
// padded to whole MCUs; a progressive image also keeps each block's 64
// coefficients as int32 until the end; and four-component images, or RGB
// ones, are converted to one more 4-byte-per-pixel image.
func jpegCost(w, h int64, l jpegLayout) int64 {
	var blocks int64 // 8×8 blocks of all components
	if len(l.comps) == 1 {
		blocks = mul((w+7)/8, (h+7)/8, 1)
	} else {
		h0, v0 := int64(l.comps[0].h), int64(l.comps[0].v)
		mxx, myy := (w+8*h0-1)/(8*h0), (h+8*v0-1)/(8*v0)
		for _, c := range l.comps {
			blocks = sat(blocks, mul(mxx*myy, int64(c.h), int64(c.v)))
		}
	}
	cost := mul(64, blocks, 1) // one byte per sample
	if l.progressive {
		cost = sat(cost, mul(256, blocks, 1)) // [64]int32 per block
	}
	if len(l.comps) == 4 || l.maybeRGB {
		cost = sat(cost, mul(4, w+15, h+15))
	}
	return cost
}

// webpLayout is the payload of a WebP file, which DecodeConfig does not
// report for the extended format (VP8X).
type webpLayout struct {
	lossless bool // VP8L
	alpha    byte // 0 none, 1 raw, 2 compressed (VP8L)
}

// readWebPLayout walks the RIFF chunks to the image data.
func readWebPLayout(r io.ReadSeeker) (webpLayout, error) {
	var l webpLayout
	c, err := openChunks(r, 12) // after RIFF, size, WEBP
	if err != nil {
		return l, err
	}
	for {
		if err := c.next(); err != nil {
			return l, err
		}
		n := int64(binary.LittleEndian.Uint32(c.hdr[4:]))
		n += n & 1 // chunks are padded to even sizes
		switch string(c.hdr[:4]) {
		case "VP8 ":
			return l, nil
		case "VP8L":
			l.lossless = true
			return l, nil
		case "ALPH":
			method, err := c.br.ReadByte()
			if err != nil {
				return l, errHeader
			}
			l.alpha = 1
			if method&0x03 != 0 {
				l.alpha = 2
			}
			n--
		}
		if err := c.skip(n); err != nil {
			return l, err
		}
	}
}

// webpCost follows golang.org/x/image/webp. Lossy: YCbCr 4:2:0 padded to
// 16×16 macroblocks, with a few bytes of filter state per macroblock.
// Lossless: 4 bytes per pixel, and when a colour-indexing transform packs
// 2 to 8 pixels in one, the packed image besides (at most 2 bytes per
// pixel); each transform's sub-image and the Huffman meta image take a
// quarter byte per pixel. Compressed alpha is a lossless image of its
// own, then copied to one byte per pixel.
func webpCost(w, h int64, l webpLayout) int64 {
	lossless := func(w, h int64) int64 { return sat(mul(6, w+1, h), mul(w+4, h+4, 1)) }
	if l.lossless {
		return lossless(w, h)
	}
	mbs := mul((w+15)/16, (h+15)/16, 1)
	cost := mul(400, mbs, 1) // 384 bytes of samples and 16 of state
	switch l.alpha {
	case 1:
		cost = sat(cost, mul(w, h, 1))
	case 2:
		cost = sat(cost, sat(lossless(w, h), mul(w, h, 1)))
	}
	return cost
}

// mul is a×b×c for non-negative numbers, saturating instead of
// overflowing.
func mul(a, b, c int64) int64 {
	const most = 1<<63 - 1
	if a == 0 || b == 0 || c == 0 {
		return 0
	}
	if a > most/b {
		return most
	}
	ab := a * b
	if ab > most/c {
		return most
	}
	return ab * c
}

// sat is a+b for non-negative numbers, saturating.
func sat(a, b int64) int64 {
	if a > 1<<63-1-b {
		return 1<<63 - 1
	}
	return a + b
}
