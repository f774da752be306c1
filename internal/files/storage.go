package files

import (
	"context"
	"fmt"
	"net/url"
	"os"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob" // gs:// buckets
	_ "gocloud.dev/blob/memblob" // mem:// buckets, for tests and demos
	_ "gocloud.dev/blob/s3blob"  // s3:// buckets, also S3-compatible servers (MinIO, R2...)
)

// StorageSchemes are the bucket URL schemes Parley can open.
var StorageSchemes = []string{"file", "s3", "gs", "mem"}

// CheckStorageURL refuses a storage URL that OpenBucket cannot open, so that
// the server stops at start-up instead of at the first upload. Empty means
// the local upload directory.
func CheckStorageURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("storage URL: %w", err)
	}
	for _, s := range StorageSchemes {
		if u.Scheme == s {
			if s != "mem" && s != "file" && u.Host == "" {
				return fmt.Errorf("storage URL %q names no bucket", raw)
			}
			return nil
		}
	}
	return fmt.Errorf("storage URL %q: scheme must be one of %v", raw, StorageSchemes)
}

// OpenBucket opens where the bytes of uploads live: the bucket at
// storageURL, such as
//
//	s3://bucket?region=eu-west-1
//	s3://bucket?endpoint=http://127.0.0.1:9000&use_path_style=true&region=us-east-1
//	gs://bucket
//	mem://
//
// (credentials come from the provider's usual environment), or, when
// storageURL is empty, the directory dir on local disk, created if missing.
func OpenBucket(ctx context.Context, storageURL, dir string) (*blob.Bucket, error) {
	if err := CheckStorageURL(storageURL); err != nil {
		return nil, err
	}
	if storageURL != "" {
		b, err := blob.OpenBucket(ctx, storageURL)
		if err != nil {
			return nil, fmt.Errorf("files: open bucket: %w", err)
		}
		return b, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("files: upload dir: %w", err)
	}
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{
		DirFileMode: 0o750,
		NoTempDir:   true,                       // the temporary file is renamed into place: same disk
		Metadata:    fileblob.MetadataDontWrite, // the database holds the metadata
	})
	if err != nil {
		return nil, fmt.Errorf("files: open upload dir: %w", err)
	}
	return b, nil
}
