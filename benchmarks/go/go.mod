module nativegomap/gobench

go 1.19
