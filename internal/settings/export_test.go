package settings

// MaskPartsForTest exposes maskParts to the external tests.
var MaskPartsForTest = maskParts
