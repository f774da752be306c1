package app_test

// Uploads cannot exhaust memory: a small PNG whose pixels would take
// hundreds of megabytes is refused from its header, and the decodes that do
// run are bounded in size and number; large files stream to storage. These
// tests measure the process's heap while uploads run, so they do not call
// t.Parallel: Go runs them while the package's parallel tests wait, and
// they measure the growth from just before the uploads to its peak during
// them.

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parley-im/parley/internal/files/filestest"
	"github.com/parley-im/parley/internal/platform/dbtest"
	"github.com/parley-im/parley/server/app"
)

// pngBomb is a w×h 16-bit RGBA PNG of zero pixels. At 6324×6324 it is
// about 304 KB, just under the default 40 megapixels, and decodes to
// 6324×6324×8 bytes (320 MB).
func pngBomb(w, h int) []byte { return filestest.ZeroPNG(w, h, 16, 6, false, false) }

var (
	bombOnce sync.Once
	bomb     []byte
)

// hostilePNG is the security review's image, encoded once per test binary
// (about a second).
func hostilePNG() []byte {
	bombOnce.Do(func() { bomb = pngBomb(6324, 6324) })
	return bomb
}

// memoryPeak runs f while sampling the heap (live and not yet swept
// objects, which is what a decoder's buffers occupy as soon as they are
// allocated) and the resident set, and returns how far each rose above its
// level before f. The baseline follows a GC, so it holds only live data.
func memoryPeak(t *testing.T, f func()) (heap, rss int64) {
	t.Helper()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() (int64, int64) {
		metrics.Read(sample)
		return int64(sample[0].Value.Uint64()), residentBytes()
	}
	runtime.GC()
	heap0, rss0 := read()
	var peakHeap, peakRSS atomic.Int64
	peakHeap.Store(heap0)
	peakRSS.Store(rss0)
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			h, r := read()
			if h > peakHeap.Load() {
				peakHeap.Store(h)
			}
			if r > peakRSS.Load() {
				peakRSS.Store(r)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	<-sampled
	return peakHeap.Load() - heap0, peakRSS.Load() - rss0
}

// residentBytes is the process's resident set from /proc (Linux), or 0.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(fields[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// TestUploadDecompressionBomb is the security review's attack: four 304 KB
// PNGs of 6324×6324 16-bit RGBA pixels, uploaded in parallel. Each passes
// the pixel limit (40 megapixels) but would decode to 320 MB; the server
// must refuse them from their headers, with a coded error, and stay within
// a small fraction of that, then go on serving.
func TestUploadDecompressionBomb(t *testing.T) {
	const parallel = 4
	const maxGrowth = 64 << 20 // one request's refusal costs well under 1 MB
	data := hostilePNG()
	require.Less(t, len(data), 400<<10, "the hostile PNG is small")

	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b)
			alice := s.Register("alice", nil)
			results, heap, rss := s.uploadAtOnce(t, parallel, alice.Token, "bomb.png", data)
			t.Logf("%d parallel uploads of a %d-byte 6324×6324 16-bit PNG: heap +%.1f MiB, RSS +%.1f MiB",
				parallel, len(data), float64(heap)/(1<<20), float64(rss)/(1<<20))
			require.Less(t, heap, int64(maxGrowth), "heap growth during the uploads")
			for _, r := range results {
				require.NotEmpty(t, r.Errors, "the image is refused")
				require.Equal(t, "BAD_USER_INPUT", r.Code())
				require.Equal(t, "IMAGE_TOO_LARGE", r.Reason())
				require.Equal(t, "file", r.Ext("field"))
				msg := r.Errors[0].Message
				require.Contains(t, msg, "6324×6324")
				require.Contains(t, msg, "at most 67 MB", "the message names the limit")
				require.NotContains(t, msg, "png:", "no decoder detail")
			}

			f := s.upload(alice.Token, "image", "fine.png", filestest.PNG(64, 64))
			require.Equal(t, "image/png", f.ContentType, "the server keeps serving")
		})
	}
}

// uploadAtOnce sends n image uploads of data named name as token, all at
// once, and returns their responses and the peak growth of the heap and of
// the resident memory meanwhile.
func (s *server) uploadAtOnce(t *testing.T, n int, token, name string, data []byte) (results []response, heap, rss int64) {
	t.Helper()
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = s.multipartUpload(token, "image", name, data, nil)
	}
	results = make([]response, n)
	heap, rss = memoryPeak(t, func() {
		var wg sync.WaitGroup
		for i, req := range reqs {
			wg.Go(func() { results[i] = decodeResponse(t, req) })
		}
		wg.Wait()
	})
	return results, heap, rss
}

// decodeResponse sends req and decodes the GraphQL response; it may run
// outside the test's goroutine, so it reports failures with Errorf.
func decodeResponse(t *testing.T, req *http.Request) response {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("upload: %v", err)
		return response{}
	}
	defer res.Body.Close()
	var r response
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Errorf("upload: decode the response: %v", err)
	}
	r.Status = res.StatusCode
	return r
}

// TestUploadDecodeSlots: images within the decode limit still cost memory
// while they decode, and uploads in parallel take turns: with one decode
// slot, six parallel uploads of images that each decode to 32 MB never hold
// more than about one of them, where without slots they would hold six
// (192 MB).
func TestUploadDecodeSlots(t *testing.T) {
	const parallel = 6
	const perImage = 2000 * 2000 * 8 // 16-bit RGBA
	data := pngBomb(2000, 2000)
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b, func(c *app.Config) { c.MaxImageDecodeBytes = 40 << 20; c.MaxConcurrentDecodes = 1 })
			alice := s.Register("alice", nil)
			defer debug.SetGCPercent(debug.SetGCPercent(25)) // collect finished decodes promptly
			results, heap, rss := s.uploadAtOnce(t, parallel, alice.Token, "big.png", data)
			t.Logf("%d parallel uploads of 2000×2000 16-bit PNGs, one decode slot: heap +%.1f MiB, RSS +%.1f MiB",
				parallel, float64(heap)/(1<<20), float64(rss)/(1<<20))
			for _, r := range results {
				require.Empty(t, r.Errors, "within the limit, the image is accepted")
			}
			require.Less(t, heap, int64(3*perImage), "the decodes took turns: one live, one not yet swept")
		})
	}
}

// TestUploadLargeFilesStream: files of 40 MiB, uploaded four at a time,
// with a Content-Length or chunked, go through a temporary file to storage
// and never sit in memory whole.
func TestUploadLargeFilesStream(t *testing.T) {
	const size = 40 << 20
	const maxGrowth = 24 << 20
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b)
			alice := s.Register("alice", nil)
			type upload struct {
				req  *http.Request
				hash hash.Hash
			}
			uploads := make([]upload, 4)
			for i := range uploads {
				h := sha256.New()
				uploads[i] = upload{s.streamUpload(alice.Token, "file", "data.bin", int64(i), size, i%2 == 1, h), h}
			}
			results := make([]response, len(uploads))
			heap, rss := memoryPeak(t, func() {
				var wg sync.WaitGroup
				for i, u := range uploads {
					wg.Go(func() { results[i] = decodeResponse(t, u.req) })
				}
				wg.Wait()
			})
			t.Logf("4 parallel uploads of 40 MiB files (2 chunked): heap +%.1f MiB, RSS +%.1f MiB",
				float64(heap)/(1<<20), float64(rss)/(1<<20))
			for i, r := range results {
				require.Empty(t, r.Errors)
				var out struct{ UploadFile uploaded }
				require.NoError(t, json.Unmarshal(r.Data, &out))
				require.Equal(t, int64(size), out.UploadFile.Size)
				require.Equal(t, hex.EncodeToString(uploads[i].hash.Sum(nil)), out.UploadFile.Sha256, "stored whole")
			}
			require.Less(t, heap, int64(maxGrowth), "heap growth during the uploads")
		})
	}
}

// streamUpload is a multipart upload of size pseudo-random bytes (from
// seed) generated while the request is sent, so that the test holds none of
// them; they also go to sum. A chunked request declares no length.
func (s *server) streamUpload(token, kind, name string, seed, size int64, chunked bool, sum io.Writer) *http.Request {
	s.T.Helper()
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], uint64(seed))
	data := io.TeeReader(io.LimitReader(rand.NewChaCha8(key), size), sum)
	if chunked {
		size = -1
	}
	return s.uploadRequest(token, kind, name, data, size, nil)
}
