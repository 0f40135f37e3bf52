/* The direct convolution kernels of _kernels.c, written once for one element type.
 *
 * Included twice by _kernels.c, with T = float (LN = 16 lanes) and T = double (LN = 8),
 * VT its vector of LN values, VTU the same with no alignment promise, and SFX the
 * name suffix. Every kernel is a plain loop nest over the sums the lecture writes:
 *
 *   forward   Z[n, f, y, x]  = b[f] + sum_{c, i, j} F[f, c, i, j] * X[n, c, y*sh + i*dh, x*sw + j*dw]
 *   weights  dF[f, c, i, j] += sum_{n, y, x} dZ[n, f, y, x] * X[n, c, y*sh + i*dh, x*sw + j*dw]
 *
 * on an input already padded by the caller (X here is the padded map). What is
 * "fast" is only how the sums are grouped so that a vector unit can do LN of them at
 * once and the running sums stay in registers:
 *
 *   *_oc kernels: the lanes are LN output channels (filters); each input value is
 *         broadcast and multiplied by LN weights, R output pixels at a time.
 *   *_px kernels: the lanes are LN neighbouring output pixels of one row; each
 *         weight is broadcast, OB channels x YB rows at a time (for layers with few
 *         output channels, where LN filters would be mostly empty lanes).
 *
 * The order of the additions differs from the reference path's matrix products,
 * so results agree to rounding (the tests compare at float64, 1e-10).
 */

#define OC_R 12 /* output pixels per block of the *_oc forward: 12 running sums of LN filters */
#define PX_YB 4 /* output rows per block of the *_px forward */
#define PX_OB 6 /* output channels per block of the *_px forward: 6 x 4 running sums */
#define WPX_FB 4 /* filters per block of wgrad_px ... */
#define WPX_JB 4 /* ... times kernel columns: 4 x 4 running sums of LN pixels */

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

/* R output pixels (y, x0 .. x0+R-1) of LN filters, lanes = filters. */
static inline __attribute__((always_inline)) void CAT(oc_block_, SFX)(
    const T *row0, long cstride, long C, long kh, long kw, long Wp, long sw, long dh, long dw,
    const T *w, VT b, T *z, long plane, long nf, const int R)
{
    VT acc[OC_R];
    for (int r = 0; r < R; r++) acc[r] = b;
    for (long c = 0; c < C; c++) {
        for (long i = 0; i < kh; i++) {
            const T *row = row0 + c * cstride + i * dh * Wp;
            const T *wi = w + (c * kh + i) * kw * LN;
            for (long j = 0; j < kw; j++) {
                VT wv = *(const VTU *)(wi + j * LN);
                const T *x = row + j * dw;
                for (int r = 0; r < R; r++) acc[r] += x[r * sw] * wv;
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (long l = 0; l < nf; l++) z[l * plane + r] = acc[r][l];
}

/* xp (N, C, Hb, Wp) padded input; wp (Fb, C, kh, kw, LN) filters in lanes, zeros past F;
   bp (Fb, LN); z (N, F, Ho, Wo). */
CLONES static void CAT(fwd_oc_, SFX)(const T *xp, long N, long C, long Hb, long Wp, const T *wp, const T *bp,
                                     long F, long kh, long kw, T *z, long Ho, long Wo,
                                     long sh, long sw, long dh, long dw)
{
    long Fb = (F + LN - 1) / LN, plane = Ho * Wo, cstride = Hb * Wp;
    for (long n = 0; n < N; n++) {
        const T *x = xp + n * C * cstride;
        for (long fb = 0; fb < Fb; fb++) {
            const T *w = wp + fb * C * kh * kw * LN;
            VT b = *(const VTU *)(bp + fb * LN);
            long nf = F - fb * LN < LN ? F - fb * LN : LN;
            T *zf = z + (n * F + fb * LN) * plane;
            for (long y = 0; y < Ho; y++) {
                const T *row0 = x + y * sh * Wp;
                long x0 = 0;
                for (; x0 + OC_R <= Wo; x0 += OC_R)
                    CAT(oc_block_, SFX)(row0 + x0 * sw, cstride, C, kh, kw, Wp, sw, dh, dw, w, b,
                                        zf + y * Wo + x0, plane, nf, OC_R);
                const T *r0 = row0 + x0 * sw;
                T *zr = zf + y * Wo + x0;
#define OC_TAIL(k) case k: CAT(oc_block_, SFX)(r0, cstride, C, kh, kw, Wp, sw, dh, dw, w, b, zr, plane, nf, k); break;
                switch (Wo - x0) {
                    OC_TAIL(1) OC_TAIL(2) OC_TAIL(3) OC_TAIL(4) OC_TAIL(5) OC_TAIL(6)
                    OC_TAIL(7) OC_TAIL(8) OC_TAIL(9) OC_TAIL(10) OC_TAIL(11)
                    default: break;
                }
#undef OC_TAIL
            }
        }
    }
}

/* One input channel's share of dF for LN filters, all KH x KW offsets in registers. */
static inline __attribute__((always_inline)) void CAT(wgrad_fixed_, SFX)(
    const T *xc, long Wp, const T *dzt, long Ho, long Wo, long sh, long sw, long dh, T *dfc,
    const int KH, const int KW)
{
    VT acc[KH * KW];
    for (int k = 0; k < KH * KW; k++) acc[k] = *(const VTU *)(dfc + k * LN);
    for (long y = 0; y < Ho; y++) {
        const T *row = xc + y * sh * Wp;
        const T *d = dzt + y * Wo * LN;
        for (long x = 0; x < Wo; x++) {
            VT g = *(const VTU *)(d + x * LN);
            const T *xr = row + x * sw;
            for (int i = 0; i < KH; i++)
                for (int j = 0; j < KW; j++) acc[i * KW + j] += xr[i * dh * Wp + j] * g;
        }
    }
    for (int k = 0; k < KH * KW; k++) *(VTU *)(dfc + k * LN) = acc[k];
}

/* The same for any kernel size and dilation, one offset at a time. */
static void CAT(wgrad_any_, SFX)(const T *xc, long Wp, const T *dzt, long Ho, long Wo, long sh, long sw,
                                 long dh, long dw, long kh, long kw, T *dfc)
{
    for (long i = 0; i < kh; i++)
        for (long j = 0; j < kw; j++) {
            VT acc = *(const VTU *)(dfc + (i * kw + j) * LN);
            for (long y = 0; y < Ho; y++) {
                const T *xr = xc + (y * sh + i * dh) * Wp + j * dw;
                const T *d = dzt + y * Wo * LN;
                for (long x = 0; x < Wo; x++) acc += xr[x * sw] * *(const VTU *)(d + x * LN);
            }
            *(VTU *)(dfc + (i * kw + j) * LN) = acc;
        }
}

/* dfp (Fb, C, kh, kw, LN) += X correlated with dZ; dz (N, F, Ho, Wo); dzt: scratch of Ho*Wo*LN. */
CLONES static void CAT(wgrad_oc_, SFX)(const T *xp, long N, long C, long Hb, long Wp, const T *dz, long F,
                                       long Ho, long Wo, long kh, long kw, long sh, long sw, long dh, long dw,
                                       T *dfp, T *dzt)
{
    long Fb = (F + LN - 1) / LN, plane = Ho * Wo, cstride = Hb * Wp, K = kh * kw;
    for (long n = 0; n < N; n++)
        for (long fb = 0; fb < Fb; fb++) {
            long nf = F - fb * LN < LN ? F - fb * LN : LN;
            const T *g = dz + (n * F + fb * LN) * plane;
            for (long p = 0; p < plane; p++) { /* dZ of LN filters, pixel-major: the lanes of one pixel */
                for (long l = 0; l < nf; l++) dzt[p * LN + l] = g[l * plane + p];
                for (long l = nf; l < LN; l++) dzt[p * LN + l] = 0;
            }
            for (long c = 0; c < C; c++) {
                const T *xc = xp + (n * C + c) * cstride;
                T *dfc = dfp + (fb * C + c) * K * LN;
                if (kh == 5 && kw == 5 && dw == 1)
                    CAT(wgrad_fixed_, SFX)(xc, Wp, dzt, Ho, Wo, sh, sw, dh, dfc, 5, 5);
                else if (kh == 3 && kw == 3 && dw == 1)
                    CAT(wgrad_fixed_, SFX)(xc, Wp, dzt, Ho, Wo, sh, sw, dh, dfc, 3, 3);
                else
                    CAT(wgrad_any_, SFX)(xc, Wp, dzt, Ho, Wo, sh, sw, dh, dw, kh, kw, dfc);
            }
        }
}

/* OB output channels x PX_YB rows x LN pixels (x0 .. x0+LN-1), lanes = pixels; stride 1 along x. */
static inline __attribute__((always_inline)) void CAT(px_block_, SFX)(
    const T *x, long cstride, long C, long kh, long kw, long Wq, long sh, long dh, long dw,
    const T *w, const T *b, T *z, long zplane, long Wv, const int OB)
{
    VT acc[PX_OB][PX_YB];
    for (int o = 0; o < OB; o++)
        for (int r = 0; r < PX_YB; r++) acc[o][r] = (VT){0} + b[o];
    long wstride = C * kh * kw;
    for (long c = 0; c < C; c++)
        for (long i = 0; i < kh; i++)
            for (long j = 0; j < kw; j++) {
                const T *xi = x + c * cstride + i * dh * Wq + j * dw;
                VT v[PX_YB];
                for (int r = 0; r < PX_YB; r++) v[r] = *(const VTU *)(xi + r * sh * Wq);
                const T *wk = w + (c * kh + i) * kw + j;
                for (int o = 0; o < OB; o++) {
                    T s = wk[o * wstride];
                    for (int r = 0; r < PX_YB; r++) acc[o][r] += s * v[r];
                }
            }
    for (int o = 0; o < OB; o++)
        for (int r = 0; r < PX_YB; r++) *(VTU *)(z + o * zplane + r * Wv) = acc[o][r];
}

/* xp (N, C, Hb, Wq) padded input; w (F, C, kh, kw); b (F); zw (N, F, Hv, Wv) with Hv a multiple of
   PX_YB and Wv of LN: the outputs past (Ho, Wo) are computed from the padding and dropped by the caller. */
CLONES static void CAT(fwd_px_, SFX)(const T *xp, long N, long C, long Hb, long Wq, const T *w, const T *b,
                                     long F, long kh, long kw, T *zw, long Hv, long Wv, long sh, long dh, long dw)
{
    long cstride = Hb * Wq, zplane = Hv * Wv;
    for (long n = 0; n < N; n++)
        for (long f0 = 0; f0 < F; f0 += PX_OB) {
            long ob = F - f0 < PX_OB ? F - f0 : PX_OB;
            const T *wf = w + f0 * C * kh * kw;
            T *zf = zw + (n * F + f0) * zplane;
            for (long y = 0; y < Hv; y += PX_YB)
                for (long x0 = 0; x0 < Wv; x0 += LN) {
                    const T *x = xp + n * C * cstride + y * sh * Wq + x0;
                    T *z = zf + y * Wv + x0;
#define PX_OB_CASE(k) case k: CAT(px_block_, SFX)(x, cstride, C, kh, kw, Wq, sh, dh, dw, wf, b + f0, z, zplane, Wv, k); break;
                    switch (ob) {
                        PX_OB_CASE(1) PX_OB_CASE(2) PX_OB_CASE(3) PX_OB_CASE(4) PX_OB_CASE(5) PX_OB_CASE(6)
                        default: break;
                    }
#undef PX_OB_CASE
                }
        }
}

/* dF[f0 .. f0+FB-1, c, i, j0 .. j0+JB-1] += the sums over every image, row and LN-pixel run of one chunk. */
static inline __attribute__((always_inline)) void CAT(wpx_block_, SFX)(
    const T *xp, long N, long C, long Hb, long Wq, const T *dzp, long F, long Ho, long Wv, long sh, long dh,
    long dw, long c, long i, long f0, long j0, T *df, long kh, long kw, const int FB, const int JB)
{
    VT acc[WPX_FB][WPX_JB];
    for (int f = 0; f < FB; f++)
        for (int j = 0; j < JB; j++) acc[f][j] = (VT){0};
    for (long n = 0; n < N; n++) {
        const T *g0 = dzp + (n * F + f0) * Ho * Wv;
        const T *x0 = xp + ((n * C + c) * Hb + i * dh) * Wq + j0 * dw;
        for (long y = 0; y < Ho; y++) {
            const T *g = g0 + y * Wv;
            const T *x = x0 + y * sh * Wq;
            for (long p = 0; p < Wv; p += LN) {
                VT gv[WPX_FB], xv[WPX_JB];
                for (int f = 0; f < FB; f++) gv[f] = *(const VTU *)(g + f * Ho * Wv + p);
                for (int j = 0; j < JB; j++) xv[j] = *(const VTU *)(x + j * dw + p);
                for (int f = 0; f < FB; f++)
                    for (int j = 0; j < JB; j++) acc[f][j] += gv[f] * xv[j];
            }
        }
    }
    for (int f = 0; f < FB; f++)
        for (int j = 0; j < JB; j++) {
            T sum = 0;
            for (int l = 0; l < LN; l++) sum += acc[f][j][l];
            df[(((f0 + f) * C + c) * kh + i) * kw + j0 + j] += sum;
        }
}

/* df (F, C, kh, kw) += X correlated with dZ, pixels in the lanes (for layers of few filters).
   xp (N, C, Hb, Wq) padded input; dzp (N, F, Ho, Wv): dZ with each row zero past Wo (Wv a multiple of LN);
   stride 1 along x. */
CLONES static void CAT(wgrad_px_, SFX)(const T *xp, long N, long C, long Hb, long Wq, const T *dzp, long F,
                                       long Ho, long Wv, long kh, long kw, long sh, long dh, long dw, T *df)
{
    for (long c = 0; c < C; c++)
        for (long i = 0; i < kh; i++)
            for (long f0 = 0; f0 < F; f0 += WPX_FB) {
                int fb = F - f0 < WPX_FB ? (int)(F - f0) : WPX_FB;
                for (long j0 = 0; j0 < kw; j0 += WPX_JB) {
                    int jb = kw - j0 < WPX_JB ? (int)(kw - j0) : WPX_JB;
#define WPX(a, b) \
    case a * 8 + b: CAT(wpx_block_, SFX)(xp, N, C, Hb, Wq, dzp, F, Ho, Wv, sh, dh, dw, c, i, f0, j0, df, kh, kw, a, b); break;
                    switch (fb * 8 + jb) {
                        WPX(1, 1) WPX(1, 2) WPX(1, 3) WPX(1, 4) WPX(2, 1) WPX(2, 2) WPX(2, 3) WPX(2, 4)
                        WPX(3, 1) WPX(3, 2) WPX(3, 3) WPX(3, 4) WPX(4, 1) WPX(4, 2) WPX(4, 3) WPX(4, 4)
                        default: break;
                    }
#undef WPX
                }
            }
}
