/*
 * Test-only stand-in for bcryptprimitives.dll, which Wine 8.0 lacks.
 *
 * The Go runtime (1.24+) loads bcryptprimitives.dll at start for
 * ProcessPrng and dies without it ("bcryptprimitives.dll not found"). This
 * DLL exports ProcessPrng on top of RtlGenRandom (advapi32's
 * SystemFunction036), which Wine has. .ci/wine.sh builds it with mingw-w64
 * and copies it into the throwaway Wine prefix of the Windows test step; it
 * is never shipped and never used on real Windows.
 *
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll \
 *          bcryptprimitives.c bcryptprimitives.def
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
	(void)inst;
	(void)reason;
	(void)reserved;
	return TRUE;
}
