package app_test

import (
	"net/http/httptest"
	"sort"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"
)

// s3Backend is the in-memory store behind a fake S3 server.
type s3Backend struct {
	t  *testing.T
	db *s3mem.Backend
}

// fakeS3 serves the S3 protocol in process over real HTTP (gofakes3), with
// one bucket, and returns its store and endpoint: the storage path the
// server takes is the real S3 client's, not a mock of Parley's interface.
func fakeS3(t *testing.T, bucket string) (s3Backend, string) {
	t.Helper()
	db := s3mem.New()
	require.NoError(t, db.CreateBucket(bucket))
	srv := httptest.NewServer(gofakes3.New(db, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(srv.Close)
	return s3Backend{t: t, db: db}, srv.URL
}

// keys lists the objects of bucket, sorted.
func (b s3Backend) keys(bucket string) []string {
	b.t.Helper()
	list, err := b.db.ListBucket(bucket, nil, gofakes3.ListBucketPage{})
	require.NoError(b.t, err)
	var out []string
	for _, c := range list.Contents {
		out = append(out, c.Key)
	}
	sort.Strings(out)
	return out
}
