package files

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/semaphore"

	"github.com/parley-im/parley/ent/file"
	"github.com/parley-im/parley/internal/files/filestest"
	"github.com/parley-im/parley/internal/platform/apperr"
)

// progressiveJPEG is a w×h progressive JPEG of nComp components sampled
// 1×1 (a CMYK one when nComp is 4), black, in one DC scan: every block's DC
// difference is the one 1-bit code of its table.
func progressiveJPEG(w, h, nComp int) []byte {
	var b bytes.Buffer
	seg := func(marker byte, data []byte) {
		b.Write([]byte{0xFF, marker})
		binary.Write(&b, binary.BigEndian, uint16(len(data)+2))
		b.Write(data)
	}
	b.Write([]byte{0xFF, 0xD8})
	if nComp == 4 {
		seg(0xEE, []byte("Adobe\x00\x64\x00\x00\x00\x00\x00")) // transform 0: CMYK
	}
	seg(0xDB, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...))
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(nComp)}
	for i := range nComp {
		sof = append(sof, byte(i+1), 0x11, 0)
	}
	seg(0xC2, sof)
	seg(0xC4, append([]byte{0x00, 1}, append(make([]byte, 15), 0)...)) // DC table 0: one 1-bit code, for 0
	sos := []byte{byte(nComp)}
	for i := range nComp {
		sos = append(sos, byte(i+1), 0x00)
	}
	seg(0xDA, append(sos, 0, 0, 0)) // spectral selection 0..0, no approximation
	bits := ((w + 7) / 8) * ((h + 7) / 8) * nComp
	data := make([]byte, (bits+7)/8)
	if pad := len(data)*8 - bits; pad > 0 {
		data[len(data)-1] = 1<<pad - 1 // the last byte is padded with 1 bits
	}
	b.Write(data)
	b.Write([]byte{0xFF, 0xD9})
	return b.Bytes()
}

// encoded is what enc writes.
func encoded(t *testing.T, enc func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, enc(&b))
	return b.Bytes()
}

// TestDecodeCost checks that decodeCost is an upper bound of what decoding
// really allocates, for every format and the variants its decoder treats
// differently, on the standard library's and golang.org/x/image's test
// images (testdata/images) and on larger generated ones; and that it is not
// far above it where the pixels dominate. It measures the process's
// allocations, so it does not run in parallel with other tests.
func TestDecodeCost(t *testing.T) {
	const w, h = 1200, 900
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(i * 7)
	}
	nrgba := image.NewNRGBA(image.Rect(0, 0, w, h))
	copy(nrgba.Pix, rgba.Pix)
	gray16 := image.NewGray16(image.Rect(0, 0, w, h))
	nrgba64 := image.NewNRGBA64(image.Rect(0, 0, w, h))
	paletted := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
	gen := map[string][]byte{
		"png gray":                 encoded(t, func(b *bytes.Buffer) error { return png.Encode(b, image.NewGray(rgba.Rect)) }),
		"png gray16":               encoded(t, func(b *bytes.Buffer) error { return png.Encode(b, gray16) }),
		"png rgb":                  encoded(t, func(b *bytes.Buffer) error { return png.Encode(b, rgba) }),
		"png rgba":                 encoded(t, func(b *bytes.Buffer) error { return png.Encode(b, nrgba) }),
		"png rgba64":               encoded(t, func(b *bytes.Buffer) error { return png.Encode(b, nrgba64) }),
		"png paletted":             encoded(t, func(b *bytes.Buffer) error { return png.Encode(b, paletted) }),
		"png gray tRNS":            filestest.ZeroPNG(w, h, 8, 0, false, true),
		"png gray16 tRNS":          filestest.ZeroPNG(w, h, 16, 0, false, true),
		"png interlaced rgba64":    filestest.ZeroPNG(w, h, 16, 6, true, false),
		"png interlaced gray tRNS": filestest.ZeroPNG(w, h, 8, 0, true, true),
		"png interlaced paletted":  filestest.ZeroPNG(w, h, 1, 3, true, false),
		"jpeg 4:2:0":               encoded(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, rgba, nil) }),
		"jpeg gray":                encoded(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, image.NewGray(rgba.Rect), nil) }),
		"jpeg progressive 4:4:4":   progressiveJPEG(w, h, 3),
		"jpeg progressive gray":    progressiveJPEG(w, h, 1),
		"jpeg progressive cmyk":    progressiveJPEG(w, h, 4),
		"gif":                      encoded(t, func(b *bytes.Buffer) error { return gif.Encode(b, paletted, nil) }),
	}
	dir := filepath.Join("testdata", "images")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		gen[e.Name()] = data
	}

	for name, data := range gen {
		t.Run(name, func(t *testing.T) {
			cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
			require.NoError(t, err)
			cost, err := decodeCost(bytes.NewReader(data), format, cfg, int64(len(data)))
			require.NoError(t, err)

			image.Decode(bytes.NewReader(data)) // once first, for lazily built tables
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, _, decodeErr := image.Decode(bytes.NewReader(data))
			runtime.ReadMemStats(&after)
			allocated := int64(after.TotalAlloc - before.TotalAlloc)
			pixels := int64(cfg.Width) * int64(cfg.Height)
			t.Logf("%s %d×%d: allocated %d, estimated %d (%.2f B/px allocated; decode error: %v)", name,
				cfg.Width, cfg.Height, allocated, cost, float64(allocated)/float64(pixels), decodeErr)
			require.LessOrEqual(t, allocated, cost, "the estimate bounds what the decoder allocates")
			if pixels >= 1_000_000 && allocated > 4<<20 {
				require.Less(t, cost, 3*allocated, "where the pixels dominate, the estimate is close")
			}
		})
	}
}

// TestImageBombs: images that are small files but huge decodes are refused
// from their headers with IMAGE_TOO_LARGE, naming the limit, whatever the
// format, before they take a decode slot; within the limit they decode.
func TestImageBombs(t *testing.T) {
	t.Parallel()
	// No slot at all: an image that gets as far as decoding waits until
	// the deadline instead.
	noSlot := imageLimits{maxPixels: DefaultMaxPixels, maxDecodeBytes: DefaultMaxDecodeBytes, slots: semaphore.NewWeighted(0)}
	for name, data := range map[string][]byte{
		"16-bit RGBA PNG":       filestest.ZeroPNG(6324, 6324, 16, 6, false, false),
		"interlaced 8-bit gray": filestest.ZeroPNG(6000, 6000, 8, 0, true, true),
		"progressive JPEG":      progressiveJPEG(4000, 4000, 3),
		"progressive CMYK JPEG": progressiveJPEG(3000, 3000, 4),
		"wide 16-bit RGBA PNG":  filestest.ZeroPNG(4_000_000, 2, 16, 6, false, false),
		"gray PNG with tRNS":    filestest.ZeroPNG(5000, 5000, 8, 0, false, true),
		"paletted GIF":          filestest.GIF(6000, 6000),
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := sniff(ctx, bytes.NewReader(data), file.KindImage, int64(len(data)), noSlot)
			e, ok := apperr.As(err)
			require.True(t, ok, "refused from the header, not after waiting to decode: %v", err)
			require.Equal(t, apperr.BadUserInput, e.Code)
			require.Equal(t, ReasonImageTooLarge, e.Reason, e.Message)
			require.Equal(t, "file", e.Field)
			require.Contains(t, e.Message, "at most 67 MB is allowed")
		})
	}
	lim := noSlot
	lim.slots = semaphore.NewWeighted(1)
	for name, data := range map[string][]byte{
		"4K screenshot":         filestest.ZeroPNG(3840, 2160, 8, 6, false, false),
		"12 MP photo":           encoded(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, image.NewRGBA(image.Rect(0, 0, 4032, 3024)), nil) }),
		"gray PNG, no tRNS":     filestest.ZeroPNG(6000, 6000, 8, 0, false, false),
		"progressive 2000×2000": progressiveJPEG(2000, 2000, 3),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sniff(context.Background(), bytes.NewReader(data), file.KindImage, int64(len(data)), lim)
			require.NoError(t, err)
		})
	}
}

// TestDecodeSlots: an upload waits for a decode slot only as long as its
// request lasts, and a request that ends while its image decodes stops the
// decode; neither is the client's mistake, so neither is a coded error.
func TestDecodeSlots(t *testing.T) {
	t.Parallel()
	lim := testLimits(DefaultMaxPixels)
	data := filestest.PNG(64, 64)
	sniffWith := func(ctx context.Context, r io.ReadSeeker) error {
		_, err := sniff(ctx, r, file.KindImage, int64(len(data)), lim)
		return err
	}

	require.NoError(t, lim.slots.Acquire(context.Background(), 1)) // another upload decodes
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- sniffWith(ctx, bytes.NewReader(data)) }()
	select {
	case err := <-done:
		t.Fatalf("decoded without a slot: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled, "the client left: it stops waiting")
	_, coded := apperr.As(err)
	require.False(t, coded)

	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, sniffWith(ctx, bytes.NewReader(data)), context.DeadlineExceeded)

	lim.slots.Release(1)
	require.NoError(t, sniffWith(context.Background(), bytes.NewReader(data)), "a free slot decodes")

	// Noise compresses badly, so the decode reads for a while; the request
	// ends halfway through the file.
	noise := image.NewNRGBA(image.Rect(0, 0, 600, 600))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(i*2654435761>>13) ^ uint8(i>>7)
	}
	big := encoded(t, func(b *bytes.Buffer) error { return png.Encode(b, noise) })
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	r := &cancelAt{Reader: bytes.NewReader(big), at: int64(len(big) / 2), cancel: cancel}
	_, err = sniff(ctx, r, file.KindImage, int64(len(big)), lim)
	require.ErrorIs(t, err, context.Canceled, "the decode stops")
	require.True(t, r.cancelled)
	require.NoError(t, lim.slots.Acquire(context.Background(), 1), "and frees its slot")
	lim.slots.Release(1)
}

// cancelAt cancels a context once reading passes offset at.
type cancelAt struct {
	*bytes.Reader
	at        int64
	cancel    func()
	cancelled bool
}

func (c *cancelAt) Read(p []byte) (int, error) {
	n, err := c.Reader.Read(p)
	if pos, _ := c.Seek(0, io.SeekCurrent); pos >= c.at && !c.cancelled {
		c.cancelled = true
		c.cancel()
	}
	return n, err
}
