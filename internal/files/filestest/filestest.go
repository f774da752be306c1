// Package filestest builds the images the files tests upload and decode:
// small valid ones of each format an encoder writes, and PNGs written chunk
// by chunk for layouts no encoder makes (any depth and colour type,
// interlaced, or a decompression bomb). Both internal/files and the server's
// upload tests use it, so that one image means the same in both.
package filestest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
)

// Picture is a w×h two-colour image, white with a black diagonal, so that
// pictures of different sizes differ in their bytes as well.
func Picture(w, h int) image.Image {
	img := image.NewPaletted(image.Rect(0, 0, w, h), []color.Color{color.White, color.Black})
	for x := range w {
		img.SetColorIndex(x, x%h, 1)
	}
	return img
}

// PNG is the w×h Picture as a PNG.
func PNG(w, h int) []byte { return encode(w, h, png.Encode) }

// JPEG is the w×h Picture as a baseline JPEG.
func JPEG(w, h int) []byte {
	return encode(w, h, func(out io.Writer, img image.Image) error { return jpeg.Encode(out, img, nil) })
}

// GIF is the w×h Picture as a GIF.
func GIF(w, h int) []byte {
	return encode(w, h, func(out io.Writer, img image.Image) error { return gif.Encode(out, img, nil) })
}

func encode(w, h int, enc func(io.Writer, image.Image) error) []byte {
	var b bytes.Buffer
	if err := enc(&b, Picture(w, h)); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// ZeroPNG builds a w×h PNG of zero samples directly (so that any colour
// type, depth and interlacing can be had): IHDR, a two-colour PLTE for a
// paletted one (colour type 3), an optional tRNS, one IDAT
// of the zlib-compressed rows (pass by pass when interlaced), IEND.
func ZeroPNG(w, h int, depth, colorType byte, interlaced, trns bool) []byte {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		out.WriteString(typ)
		crc.Write([]byte(typ))
		out.Write(data)
		crc.Write(data)
		binary.Write(&out, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = depth, colorType
	if interlaced {
		ihdr[12] = 1
	}
	chunk("IHDR", ihdr)
	if colorType == 3 {
		chunk("PLTE", []byte{0, 0, 0, 255, 255, 255}) // black and white
	}
	if trns {
		chunk("tRNS", make([]byte, 2)) // gray: one 16-bit sample value
	}
	channels := map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colorType]
	bits := int(depth) * channels
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	rows := func(pw, ph int) {
		row := make([]byte, 1+(bits*pw+7)/8)
		for range ph {
			zw.Write(row)
		}
	}
	if !interlaced {
		rows(w, h)
	} else {
		for _, p := range [][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}} {
			pw, ph := (w-p[0]+p[2]-1)/p[2], (h-p[1]+p[3]-1)/p[3]
			if pw > 0 && ph > 0 {
				rows(pw, ph)
			}
		}
	}
	zw.Close()
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}
