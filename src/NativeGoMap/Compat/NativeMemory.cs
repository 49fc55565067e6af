#if NETSTANDARD2_1
using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeGoMap
{
    /// <summary>
    /// netstandard2.1 stand-in for <c>System.Runtime.InteropServices.NativeMemory</c> (.NET 6+),
    /// with the same names and contracts, so <see cref="NativeHeap"/> reads the same on every
    /// target. Like the real one it takes memory from the C runtime: <c>malloc</c>,
    /// <c>calloc</c> and <c>free</c> of libc (Unix) or ucrtbase (Windows), so that a large zeroed
    /// allocation is a lazy mapping of zero pages, not a memset. Where neither library can be
    /// bound (an AOT runtime without them), every block comes from
    /// <see cref="Marshal.AllocHGlobal(IntPtr)"/> instead and zeroing is done by hand; the choice
    /// is made once per process, so a block is always freed by the allocator that made it.
    /// </summary>
    internal static unsafe class NativeMemory
    {
        private static readonly CRuntime s_crt = Probe();

        /// <summary>Which allocator this process bound: "Libc", "Ucrt" or "HGlobal" (for tests and diagnostics).</summary>
        internal static string Allocator => s_crt.ToString();

        /// <summary>Allocates <paramref name="byteCount"/> uninitialized bytes; throws <see cref="OutOfMemoryException"/> on failure.</summary>
        public static void* Alloc(nuint byteCount)
        {
            nuint n = byteCount == 0 ? 1 : byteCount; // as NativeMemory: a zero-byte request still returns a unique block
            void* p = s_crt switch
            {
                CRuntime.Libc => Libc.malloc(n),
                CRuntime.Ucrt => Ucrt.malloc(n),
                _ => (void*)Marshal.AllocHGlobal(checked((IntPtr)(long)n)),
            };
            return p != null ? p : throw new OutOfMemoryException();
        }

        /// <summary>Allocates <paramref name="byteCount"/> zeroed bytes; throws <see cref="OutOfMemoryException"/> on failure.</summary>
        public static void* AllocZeroed(nuint byteCount)
        {
            nuint n = byteCount == 0 ? 1 : byteCount;
            void* p;
            switch (s_crt)
            {
                case CRuntime.Libc:
                    p = Libc.calloc(n, 1);
                    break;
                case CRuntime.Ucrt:
                    p = Ucrt.calloc(n, 1);
                    break;
                default:
                    p = Alloc(n);
                    Clear(p, n);
                    break;
            }

            return p != null ? p : throw new OutOfMemoryException();
        }

        /// <summary>Frees a block from <see cref="Alloc"/> or <see cref="AllocZeroed"/>; null is ignored.</summary>
        public static void Free(void* ptr)
        {
            if (ptr == null)
            {
                return;
            }

            switch (s_crt)
            {
                case CRuntime.Libc:
                    Libc.free(ptr);
                    break;
                case CRuntime.Ucrt:
                    Ucrt.free(ptr);
                    break;
                default:
                    Marshal.FreeHGlobal((IntPtr)ptr);
                    break;
            }
        }

        /// <summary>Sets <paramref name="byteCount"/> bytes at <paramref name="ptr"/> to zero.</summary>
        public static void Clear(void* ptr, nuint byteCount) => Fill(ptr, byteCount, 0);

        /// <summary>Sets <paramref name="byteCount"/> bytes at <paramref name="ptr"/> to <paramref name="value"/>.</summary>
        public static void Fill(void* ptr, nuint byteCount, byte value)
        {
            // initblk takes a 32-bit length: go in steps of 1 GiB.
            const uint Step = 1u << 30;
            byte* p = (byte*)ptr;
            for (nuint left = byteCount; left != 0;)
            {
                uint n = left > Step ? Step : (uint)left;
                Unsafe.InitBlockUnaligned(p, value, n);
                p += n;
                left -= n;
            }
        }

        /// <summary>Copies <paramref name="byteCount"/> bytes; the blocks may overlap.</summary>
        public static void Copy(void* source, void* destination, nuint byteCount) =>
            Buffer.MemoryCopy(source, destination, byteCount, byteCount);

        /// <summary>Where blocks come from, fixed for the process.</summary>
        private enum CRuntime
        {
            /// <summary>libc's malloc/calloc/free (Linux, macOS; Mono maps "libc" to the system's).</summary>
            Libc,

            /// <summary>The Universal CRT's malloc/calloc/free (Windows), as .NET's NativeMemory uses.</summary>
            Ucrt,

            /// <summary>Marshal.AllocHGlobal/FreeHGlobal, zeroed by hand: when no C runtime can be bound.</summary>
            HGlobal,
        }

        private static CRuntime ProbeFor(CRuntime crt)
        {
            try
            {
                void* p = crt == CRuntime.Libc ? Libc.calloc(1, 1) : Ucrt.calloc(1, 1);
                if (crt == CRuntime.Libc)
                {
                    Libc.free(p);
                }
                else
                {
                    Ucrt.free(p);
                }

                return crt;
            }
            catch (DllNotFoundException)
            {
                return CRuntime.HGlobal;
            }
            catch (EntryPointNotFoundException)
            {
                return CRuntime.HGlobal;
            }
        }

        /// <summary>Binds the C runtime's allocator once: a tiny calloc/free pair either works or throws here.</summary>
        private static CRuntime Probe() =>
            ProbeFor(RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? CRuntime.Ucrt : CRuntime.Libc);

        /// <summary>libc's allocator (Mono maps "libc" to the system's C library; CoreCLR resolves it too).</summary>
        private static class Libc
        {
            [DllImport("libc", CallingConvention = CallingConvention.Cdecl)]
            internal static extern void* malloc(nuint size);

            [DllImport("libc", CallingConvention = CallingConvention.Cdecl)]
            internal static extern void* calloc(nuint count, nuint size);

            [DllImport("libc", CallingConvention = CallingConvention.Cdecl)]
            internal static extern void free(void* ptr);
        }

        /// <summary>Mirrors <see cref="Libc"/> for Windows: a DllImport names its library with a constant, so each library needs its own declarations.</summary>
        private static class Ucrt
        {
            [DllImport("ucrtbase", CallingConvention = CallingConvention.Cdecl)]
            internal static extern void* malloc(nuint size);

            [DllImport("ucrtbase", CallingConvention = CallingConvention.Cdecl)]
            internal static extern void* calloc(nuint count, nuint size);

            [DllImport("ucrtbase", CallingConvention = CallingConvention.Cdecl)]
            internal static extern void free(void* ptr);
        }
    }
}
#endif
