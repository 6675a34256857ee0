// Squarespace as tests see it: the order object the Orders API returns, the notification a subscription POSTs, and
// its signature.
import { createHmac, randomBytes } from 'node:crypto'
import { SQUARESPACE_SECRET_HEX } from './harness.js'

export function squarespaceOrder(id: string, email: string, lineItems: { sku: string | null; productName: string; price?: string }[]) {
  const money = (value: string) => ({ value, currency: 'USD' })
  const total = lineItems.reduce((sum, item) => sum + Number(item.price ?? '49.00'), 0).toFixed(2)
  return {
    id,
    orderNumber: String(1000 + Math.floor(Math.random() * 9000)),
    createdOn: '2026-11-24T10:15:00.000Z',
    modifiedOn: '2026-11-24T10:15:03.120Z',
    channel: 'web',
    testmode: false,
    customerEmail: email,
    fulfillmentStatus: 'PENDING' as string,
    lineItems: lineItems.map((item, i) => ({
      id: `${id}-li${i}`,
      variantId: randomBytes(12).toString('hex'),
      sku: item.sku,
      productId: randomBytes(12).toString('hex'),
      productName: item.productName,
      quantity: 1,
      unitPricePaid: money(item.price ?? '49.00'),
      variantOptions: [],
      lineItemType: 'DIGITAL',
    })),
    shippingTotal: money('0.00'),
    discountTotal: money('0.00'),
    taxTotal: money('0.00'),
    refundedTotal: money('0.00'),
    subtotal: money(total),
    grandTotal: money(total),
    fulfilledOn: null,
    fulfillments: [],
  }
}
export type TestOrder = ReturnType<typeof squarespaceOrder>

export const squarespaceNotification = (orderId: string, topic = 'order.create') => ({
  id: `ntf_${randomBytes(8).toString('hex')}`,
  websiteId: '5f2d4a7b8c9e0f1a2b3c4d5e',
  subscriptionId: '3b8f6c1e-5a2d-4e7f-9c0b-1d2e3f4a5b6c',
  topic,
  createdOn: new Date().toISOString(),
  data: { orderId },
})

export const signSquarespace = (raw: string, secretHex = SQUARESPACE_SECRET_HEX) =>
  createHmac('sha256', Buffer.from(secretHex, 'hex')).update(raw).digest('hex')
